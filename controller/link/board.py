"""An agent's Describe reply as the controller's board records."""
from __future__ import annotations

from google.protobuf import json_format

from edgebench.v1 import agent_pb2 as pb

from ..records import Board, BoardDescription, RuntimeInfo, SensorInfo


def board_record(desc: pb.BoardDescription) -> Board:
    return Board(
        model=desc.board_model,
        soc=desc.soc,
        hostname=desc.hostname,
        machine=desc.machine,
        os=desc.os,
        cpu_count=desc.cpu_count,
        memory_total_mb=round(desc.memory_total_bytes / (1 << 20)),
        governor=desc.cpu_governor or None,
        fingerprint=desc.fingerprint,
        agent_version=desc.agent_version,
    )


def board_description(desc: pb.BoardDescription) -> BoardDescription:
    return BoardDescription(
        board=board_record(desc),
        api_version=desc.api_version,
        python_version=desc.python_version,
        kernel=desc.kernel,
        memory_total_bytes=desc.memory_total_bytes,
        runtimes=[RuntimeInfo(r.name, r.version, r.available, r.reason, list(r.execution_providers), r.package)
                  for r in desc.runtimes],
        sensors=[SensorInfo(s.name, s.kind, s.available, s.reason) for s in desc.sensors],
        as_json=json_format.MessageToJson(desc, preserving_proto_field_name=True),
    )
