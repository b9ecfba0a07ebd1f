"""`controller targets`: what one known agent says about itself, with every failure as a field, not an
exception (one unreachable board must not hide the others)."""
from __future__ import annotations

from ..errors import AgentVersionError, ControllerError
from ..records import TargetStatus
from .board import board_description
from .client import AgentAuthError, AgentClient, AgentTLSError
from .targets_config import TargetConfig


def probe_target(cfg: TargetConfig, timeout_s: float) -> TargetStatus:
    row = TargetStatus(cfg.target, cfg.address, cfg.credentials().summary(),
                      deployed_version=cfg.agent_version or None, service=cfg.service or None)
    try:
        with AgentClient(cfg.address, timeout_s, cfg.credentials()) as client:
            row.health = client.health_status(timeout_s)
            desc = board_description(client.describe(timeout_s=max(timeout_s, 20.0)))
            row.agent_version = desc.board.agent_version
            row.board = desc.board.model or desc.board.hostname
            row.machine = desc.board.machine
            row.sensors = desc.available_sensors
    except ControllerError as exc:
        row.error = str(exc)
        if isinstance(exc, AgentTLSError):
            row.health = "TLS failed"
        elif isinstance(exc, AgentAuthError):
            row.health = f"{row.health}, token refused"
        elif isinstance(exc, AgentVersionError):
            row.health = f"{row.health}, needs upgrade"
    return row
