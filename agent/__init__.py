"""edgebench agent: runs models on a board and measures them. Imports nothing from `controller`."""

__version__ = "0.1.0"

# Bumped when the agent's behaviour changes in a way an older controller would misread.
API_VERSION = 1

# The agent's documented default port: `--listen HOST` and a target without a port use it.
DEFAULT_PORT = 47311
