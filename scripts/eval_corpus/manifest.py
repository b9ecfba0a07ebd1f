"""The corpus manifest (`manifest.json` beside the models): its records, a strict reader and an atomic writer.

Standard library only, so a benchmark script in any environment can read it (with scripts/ on sys.path):

    from eval_corpus.manifest import load_manifest
    corpus = load_manifest(Path("~/.cache/edgebench/eval-corpus/manifest.json").expanduser(), verify_files=True)
    for entry in corpus.usable():
        print(entry.name, corpus.file(entry), entry.inputs[0].bench_shape)
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_VERSION = 1
FORMATS = ("onnx", "tflite")
DTYPES = ("fp32", "int8", "fp16", "dynamic-range")
FAMILIES = ("cnn", "transformer", "hybrid", "detection", "segmentation")


class ManifestError(ValueError):
    """The manifest (or a file it lists) is not what it claims; the message names the entry and field."""


@dataclass
class TensorSpec:
    """One model input or output. `shape` is the model's own (symbolic dims as strings, e.g. "batch");
    `bench_shape` is the concrete shape to run it at (inputs only; equals `shape` when the model is static)."""
    name: str
    dtype: str
    shape: list[int | str]
    bench_shape: list[int] | None = None


@dataclass
class CorpusEntry:
    """One model file of the corpus, or one recipe that failed (then `built` is false and `error` says why)."""
    name: str
    key: str                       # hash of the recipe that made it: a changed recipe is rebuilt
    format: str                    # onnx | tflite
    dtype: str                     # fp32 | int8 | fp16 | dynamic-range
    exporter: str                  # e.g. "torch.onnx.export (dynamo)", "TFLiteConverter", "tf2onnx"
    exporter_version: str          # e.g. "torch 2.14.1"
    library: str                   # torchvision | timm | keras | onnx-model-zoo
    library_version: str
    arch: str                      # the architecture's name in that library
    family: str                    # cnn | transformer | hybrid | detection | segmentation
    seed: int
    built: bool
    path: str | None = None        # relative to the manifest's folder
    file_bytes: int | None = None
    sha256: str | None = None
    params: int | None = None      # as the source library counts them (Keras includes BatchNorm statistics)
    opset: int | None = None       # ONNX default-domain opset as written in the file
    source: str | None = None      # for a quantized / fp16 model: the entry it was made from
    inputs: list[TensorSpec] = field(default_factory=list)
    outputs: list[TensorSpec] = field(default_factory=list)
    runs: bool | None = None       # loaded and ran once (onnxruntime CPU EP / LiteRT); None when not built
    check_ms_1t: float | None = None  # fastest of <= 3 warm runs at 1 thread in the check; rough, not a benchmark
    excluded: str | None = None    # why a built model is kept out of the corpus (e.g. too slow); its file is gone
    error: str | None = None
    export_s: float | None = None
    quick: bool = False            # in the `--quick` subset

    @property
    def usable(self) -> bool:
        return bool(self.built and self.runs and not self.excluded)


@dataclass
class Manifest:
    root: Path                     # the folder the entries' paths are relative to
    created: str
    environments: dict[str, Any]
    entries: list[CorpusEntry]
    version: int = MANIFEST_VERSION

    def usable(self) -> list[CorpusEntry]:
        return [e for e in self.entries if e.usable]

    def file(self, entry: CorpusEntry) -> Path:
        if not entry.path:
            raise ManifestError(f"entry {entry.name!r} has no file (built={entry.built}, excluded={entry.excluded})")
        return self.root / entry.path

    def by_name(self) -> dict[str, CorpusEntry]:
        return {e.name: e for e in self.entries}


# --- reading and validating ---------------------------------------------------------------------------------

_ENTRY_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,), "key": (str,), "format": (str,), "dtype": (str,), "exporter": (str,),
    "exporter_version": (str,), "library": (str,), "library_version": (str,), "arch": (str,), "family": (str,),
    "seed": (int,), "built": (bool,),
}
_OPTIONAL_TYPES: dict[str, tuple[type, ...]] = {
    "path": (str,), "file_bytes": (int,), "sha256": (str,), "params": (int,), "opset": (int,),
    "source": (str,), "runs": (bool,), "check_ms_1t": (int, float), "excluded": (str,), "error": (str,),
    "export_s": (int, float), "quick": (bool,),
}


def _is(value: Any, types: tuple[type, ...]) -> bool:
    # bool is an int in Python; a count of True is a mistake worth catching.
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def _tensor(where: str, raw: Any, is_input: bool) -> TensorSpec:
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: expected an object, got {type(raw).__name__}")
    for key in ("name", "dtype", "shape"):
        if key not in raw:
            raise ManifestError(f"{where}: missing {key!r}")
    shape = raw["shape"]
    if not isinstance(shape, list) or not all(_is(d, (int, str)) for d in shape):
        raise ManifestError(f"{where}: 'shape' must be a list of ints and dim names, got {shape!r}")
    bench = raw.get("bench_shape")
    if is_input:
        if not isinstance(bench, list) or not all(_is(d, (int,)) and d > 0 for d in bench):
            raise ManifestError(f"{where}: 'bench_shape' must be a list of positive ints, got {bench!r}")
        if len(bench) != len(shape):
            raise ManifestError(f"{where}: bench_shape {bench} has rank {len(bench)}, shape {shape} has {len(shape)}")
        for dim, b in zip(shape, bench, strict=True):
            if isinstance(dim, int) and dim > 0 and dim != b:
                raise ManifestError(f"{where}: bench_shape {bench} contradicts the fixed shape {shape}")
    return TensorSpec(name=str(raw["name"]), dtype=str(raw["dtype"]), shape=list(shape),
                      bench_shape=list(bench) if bench is not None else None)


def _entry(index: int, raw: Any) -> CorpusEntry:
    where = f"entries[{index}]"
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: expected an object, got {type(raw).__name__}")
    if isinstance(raw.get("name"), str):
        where = f"entry {raw['name']!r}"
    for key, types in _ENTRY_TYPES.items():
        if key not in raw:
            raise ManifestError(f"{where}: missing {key!r}")
        if not _is(raw[key], types):
            raise ManifestError(f"{where}: {key!r} has type {type(raw[key]).__name__}, expected {types[0].__name__}")
    for key, types in _OPTIONAL_TYPES.items():
        if raw.get(key) is not None and not _is(raw[key], types):
            raise ManifestError(f"{where}: {key!r} has type {type(raw[key]).__name__}, expected {types[0].__name__}")
    unknown = set(raw) - set(_ENTRY_TYPES) - set(_OPTIONAL_TYPES) - {"inputs", "outputs"}
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {sorted(unknown)}")
    if raw["format"] not in FORMATS:
        raise ManifestError(f"{where}: format {raw['format']!r} is not one of {FORMATS}")
    if raw["dtype"] not in DTYPES:
        raise ManifestError(f"{where}: dtype {raw['dtype']!r} is not one of {DTYPES}")
    if raw["family"] not in FAMILIES:
        raise ManifestError(f"{where}: family {raw['family']!r} is not one of {FAMILIES}")
    inputs = [_tensor(f"{where} inputs[{i}]", t, True) for i, t in enumerate(raw.get("inputs") or [])]
    outputs = [_tensor(f"{where} outputs[{i}]", t, False) for i, t in enumerate(raw.get("outputs") or [])]
    entry = CorpusEntry(**{k: v for k, v in raw.items() if k not in ("inputs", "outputs")},
                        inputs=inputs, outputs=outputs)
    if not entry.built:
        if not entry.error:
            raise ManifestError(f"{where}: not built but no 'error' says why")
        return entry
    if entry.runs is None:
        raise ManifestError(f"{where}: built but never checked ('runs' is missing)")
    if entry.runs is False and not entry.error:
        raise ManifestError(f"{where}: 'runs' is false but no 'error' says why")
    if entry.excluded:
        return entry  # its file was removed on purpose
    if not entry.path:
        raise ManifestError(f"{where}: built but has no 'path'")
    if Path(entry.path).is_absolute() or ".." in Path(entry.path).parts:
        raise ManifestError(f"{where}: path {entry.path!r} must be relative to the manifest's folder")
    if not entry.sha256 or len(entry.sha256) != 64 or any(c not in "0123456789abcdef" for c in entry.sha256):
        raise ManifestError(f"{where}: 'sha256' must be 64 lowercase hex digits, got {entry.sha256!r}")
    if not entry.file_bytes or entry.file_bytes <= 0:
        raise ManifestError(f"{where}: 'file_bytes' must be positive, got {entry.file_bytes!r}")
    if entry.runs and not entry.inputs:
        raise ManifestError(f"{where}: runs but lists no inputs")
    return entry


def parse_manifest(data: Any, root: Path) -> Manifest:
    """Validate an already-decoded manifest; raises ManifestError naming the first problem."""
    if not isinstance(data, dict):
        raise ManifestError(f"manifest: expected an object, got {type(data).__name__}")
    if data.get("version") != MANIFEST_VERSION:
        raise ManifestError(f"manifest: version {data.get('version')!r}, this reader knows {MANIFEST_VERSION}")
    entries_raw = data.get("entries")
    if not isinstance(entries_raw, list):
        raise ManifestError("manifest: 'entries' must be a list")
    entries = [_entry(i, raw) for i, raw in enumerate(entries_raw)]
    names = Counter(e.name for e in entries)
    dupes = sorted(n for n, c in names.items() if c > 1)
    if dupes:
        raise ManifestError(f"manifest: duplicate entry name(s) {dupes}")
    paths = Counter(e.path for e in entries if e.path)
    dupes = sorted(p for p, c in paths.items() if c > 1)
    if dupes:
        raise ManifestError(f"manifest: several entries share the file(s) {dupes}")
    by_name = {e.name for e in entries}
    for e in entries:
        if e.source and e.source not in by_name:
            raise ManifestError(f"entry {e.name!r}: source {e.source!r} is not in the manifest")
    envs = data.get("environments", {})
    if not isinstance(envs, dict):
        raise ManifestError("manifest: 'environments' must be an object")
    return Manifest(root=root, created=str(data.get("created", "")), environments=envs, entries=entries)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_entry_file(manifest: Manifest, entry: CorpusEntry) -> None:
    """The file exists with the recorded size and sha256; raises ManifestError otherwise."""
    path = manifest.file(entry)
    if not path.is_file():
        raise ManifestError(f"entry {entry.name!r}: file {path} is missing")
    size = path.stat().st_size
    if size != entry.file_bytes:
        raise ManifestError(f"entry {entry.name!r}: {path} has {size} bytes, the manifest says {entry.file_bytes}")
    if sha256_file(path) != entry.sha256:
        raise ManifestError(f"entry {entry.name!r}: {path} does not match its sha256 (changed since it was made)")


def load_manifest(path: Path, verify_files: bool = False) -> Manifest:
    """Read and validate `manifest.json`; with verify_files, also every listed file's size and sha256."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ManifestError(f"{path}: no manifest here (run scripts/make_eval_corpus.py)") from None
    except json.JSONDecodeError as e:
        raise ManifestError(f"{path}: not valid JSON ({e})") from None
    manifest = parse_manifest(data, Path(path).resolve().parent)
    if verify_files:
        for entry in manifest.entries:
            if entry.path:
                verify_entry_file(manifest, entry)
    return manifest


# --- writing ------------------------------------------------------------------------------------------------

def manifest_dict(manifest: Manifest) -> dict[str, Any]:
    return {"version": manifest.version, "created": manifest.created, "environments": manifest.environments,
            "entries": [asdict(e) for e in manifest.entries]}


def write_manifest(path: Path, manifest: Manifest) -> None:
    """Validate, then replace the file atomically: a reader never sees half a manifest."""
    data = manifest_dict(manifest)
    parse_manifest(data, manifest.root)  # never write what the reader would refuse
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".manifest-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- summary ------------------------------------------------------------------------------------------------

@dataclass
class Summary:
    files: int
    total_bytes: int
    failed_build: list[str]
    failed_run: list[str]
    excluded: list[str]
    by_format: dict[str, int]
    by_dtype: dict[str, int]
    by_exporter: dict[str, int]
    by_family: dict[str, int]
    by_format_dtype: dict[tuple[str, str], int]


def summarize(manifest: Manifest) -> Summary:
    """Counts over the usable files (built, ran, not excluded); the failures are listed by name."""
    usable = manifest.usable()
    return Summary(
        files=len(usable),
        total_bytes=sum(e.file_bytes or 0 for e in usable),
        failed_build=[e.name for e in manifest.entries if not e.built],
        failed_run=[e.name for e in manifest.entries if e.built and e.runs is False],
        excluded=[e.name for e in manifest.entries if e.excluded],
        by_format=dict(Counter(e.format for e in usable)),
        by_dtype=dict(Counter(e.dtype for e in usable)),
        by_exporter=dict(Counter(e.exporter for e in usable)),
        by_family=dict(Counter(e.family for e in usable)),
        by_format_dtype=dict(Counter((e.format, e.dtype) for e in usable)),
    )


def summary_table(summary: Summary) -> str:
    """A plain-text table of the counts (markdown-compatible rows)."""
    lines = ["| group | value | files |", "| --- | --- | --- |"]
    for title, counts in (("format x dtype", {f"{k[0]} {k[1]}": v for k, v in summary.by_format_dtype.items()}),
                          ("exporter", summary.by_exporter), ("family", summary.by_family)):
        for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"| {title} | {key} | {count} |")
    lines.append(f"| total | {summary.total_bytes / 2**20:.1f} MiB | {summary.files} |")
    for title, names in (("failed to build", summary.failed_build), ("failed to run", summary.failed_run),
                         ("excluded", summary.excluded)):
        if names:
            lines.append(f"| {title} | {', '.join(names)} | {len(names)} |")
    return "\n".join(lines)
