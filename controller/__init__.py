import os as _os

# gRPC's C core prints TLS handshake failures as INFO lines on stderr; the controller reports each failure as
# one clear sentence instead. An explicit GRPC_VERBOSITY still wins.
_os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
