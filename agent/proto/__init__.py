"""Generated gRPC stubs for protos/edgebench/v1/agent.proto (see scripts/gen_protos.py)."""
