"""The pipe from a worker to its agent: length-prefixed frames, so a binary result can travel beside progress.

Each frame is one kind byte, a 4-byte big-endian length and the payload. The worker writes a frame whole
before it goes on, so every frame it finished writing reaches the agent even if the runtime then crashes
the process; a frame cut off by the crash is dropped by the reader, never half-parsed.
"""
from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import BinaryIO

PROGRESS = b"P"  # JSON object: phase, done, total, elapsed_s, message, batch_done, batch_total
BATCH_ITEM = b"B"  # a serialized BatchResult: one finished batch item
RESULT = b"R"  # a serialized JobResult: the worker's final answer

_HEADER = struct.Struct(">cI")
MAX_FRAME_BYTES = 1 << 30  # a length beyond this is a corrupted stream, not a result


class ChannelWriter:
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def send(self, kind: bytes, payload: bytes) -> None:
        self._stream.write(_HEADER.pack(kind, len(payload)) + payload)
        self._stream.flush()

    def send_json(self, kind: bytes, obj: dict) -> None:
        self.send(kind, json.dumps(obj).encode())


def read_frames(stream: BinaryIO) -> Iterator[tuple[bytes, bytes]]:
    """(kind, payload) for every whole frame until end of stream; a truncated or corrupt tail ends it."""
    while True:
        header = _read_exactly(stream, _HEADER.size)
        if header is None:
            return
        kind, length = _HEADER.unpack(header)
        if length > MAX_FRAME_BYTES:
            return
        payload = _read_exactly(stream, length)
        if payload is None:
            return
        yield kind, payload


def _read_exactly(stream: BinaryIO, n: int) -> bytes | None:
    parts = []
    left = n
    while left > 0:
        block = stream.read(left)
        if not block:
            return None
        parts.append(block)
        left -= len(block)
    return b"".join(parts)
