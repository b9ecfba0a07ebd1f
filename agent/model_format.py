"""What kind of model file this is, by its first bytes: the one rule the agent and the controller share.

- TFLite: a flatbuffer whose file identifier (bytes 4..8) is `TFL3`. The identifier decides; a `.tflite`
  name without it is not a TFLite model, whatever the suffix says.
- ONNX: a serialized `ModelProto`. Every exporter writes `ir_version` (field 1, varint) first, so the first
  byte is 0x08; a file named `.onnx` is taken as ONNX too (protobuf allows any field order) and the ONNX
  parser says precisely what is wrong with it if it is not.
- Anything else is neither, and is refused with the reason before a runtime or an upload sees it.

Imported by the board, so it needs nothing beyond the standard library.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TFLITE_IDENTIFIER = b"TFL3"
ONNX_FIRST_BYTE = b"\x08"  # field 1 (ir_version), wire type 0 (varint)
HEAD_BYTES = 8

ONNX = "onnx"
TFLITE = "tflite"


@dataclass(frozen=True)
class Sniffed:
    format: str | None  # ONNX, TFLITE, or None when the bytes are neither
    reason: str  # why not, when format is None; "" otherwise


def sniff_bytes(head: bytes, name: str = "") -> Sniffed:
    """The format of a file from its first HEAD_BYTES bytes (and its name, for ONNX only)."""
    if len(head) >= HEAD_BYTES and head[4:8] == TFLITE_IDENTIFIER:
        return Sniffed(TFLITE, "")
    suffix = Path(name).suffix.lower()
    if head[:1] == ONNX_FIRST_BYTE or (suffix == ".onnx" and head):
        return Sniffed(ONNX, "")
    if not head:
        return Sniffed(None, "the file is empty")
    if suffix == ".tflite":
        return Sniffed(None, f"named .tflite but has no TFLite file identifier (bytes 4-8 are {head[4:8]!r}, "
                             f"expected {TFLITE_IDENTIFIER!r})")
    return Sniffed(None, f"neither an ONNX model nor a TFLite flatbuffer (it starts with {head[:8]!r})")


def sniff_file(path: str | os.PathLike[str]) -> Sniffed:
    """The format of a model file; OSError (missing, unreadable) propagates to the caller, who names it."""
    with open(path, "rb") as f:
        return sniff_bytes(f.read(HEAD_BYTES), os.fspath(path))
