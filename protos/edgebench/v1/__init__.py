"""Python stubs generated from agent.proto by scripts/gen_protos.py; agent and controller both import them from here."""
