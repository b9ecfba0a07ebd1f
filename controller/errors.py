"""Errors the controller reports to the user as one clear line."""


class ControllerError(Exception):
    """Anything the user must fix or know: printed as `controller: error: <message>`."""


class AgentUnreachable(ControllerError):
    pass


class AgentVersionError(ControllerError):
    pass
