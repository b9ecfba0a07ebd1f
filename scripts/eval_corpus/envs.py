"""The exporters' virtualenvs, outside the checkout: `$EDGEBENCH_CACHE_DIR/eval-env-NAME` (default
`~/.cache/edgebench/eval-env-NAME`), each installed from its pinned requirements file and re-used while that file
is unchanged.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
STAMP = "edgebench-requirements.txt"  # a copy of the requirements the env was last installed from
INSTALL_TIMEOUT_S = 3600


@dataclass(frozen=True)
class ExporterEnv:
    name: str
    requirements: Path
    report: tuple[str, ...]  # distributions whose versions are printed and stored in the manifest


ENVS = {
    "torch": ExporterEnv("torch", HERE / "requirements-torch.txt",
                         ("torch", "torchvision", "timm", "onnx", "onnxscript", "onnxruntime",
                          "onnxconverter-common", "numpy", "protobuf")),
    "tf": ExporterEnv("tf", HERE / "requirements-tf.txt",
                      ("tensorflow-cpu", "keras", "tf2onnx", "onnx", "numpy", "protobuf")),
}


class EnvError(RuntimeError):
    pass


def cache_dir() -> Path:
    root = os.environ.get("EDGEBENCH_CACHE_DIR")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "edgebench"


def env_dir(env: ExporterEnv, cache: Path) -> Path:
    return cache / f"eval-env-{env.name}"


def env_python(env: ExporterEnv, cache: Path) -> Path:
    return env_dir(env, cache) / "bin" / "python"


def is_current(env: ExporterEnv, cache: Path) -> bool:
    stamp = env_dir(env, cache) / STAMP
    return (env_python(env, cache).exists() and stamp.is_file()
            and stamp.read_text() == env.requirements.read_text())


def ensure_env(env: ExporterEnv, cache: Path, log_dir: Path) -> Path:
    """The env's python, creating the venv and installing its requirements if they changed since last time."""
    python = env_python(env, cache)
    if is_current(env, cache):
        return python
    directory = env_dir(env, cache)
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"pip-{env.name}.log"
    print(f"installing the {env.name} exporter env into {directory} (log: {log}) ...", flush=True)
    with open(log, "w") as out:
        if not python.exists():
            # The venv's base is this interpreter's: torch's wheels on this disk are for CPython 3.11.
            subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True, stdout=out, stderr=out)
        cmd = ["nice", "-n", "10", str(python), "-m", "pip", "install", "--disable-pip-version-check",
               "-r", str(env.requirements)]
        try:
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise EnvError(f"pip install for the {env.name} env took over {INSTALL_TIMEOUT_S} s; see {log}") from None
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-15:])
        raise EnvError(f"pip install -r {env.requirements.name} failed (exit {proc.returncode}); see {log}:\n{tail}")
    (directory / STAMP).write_text(env.requirements.read_text())
    return python


def installed_versions(env: ExporterEnv, cache: Path) -> dict[str, str]:
    """What is really installed in the env (read from its own metadata), plus its Python version."""
    code = ("import importlib.metadata as m, json, sys\n"
            f"names = {list(env.report)!r}\n"
            "out = {'python': sys.version.split()[0]}\n"
            "for n in names:\n"
            "    try: out[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: out[n] = 'not installed'\n"
            "print(json.dumps(out))\n")
    proc = subprocess.run([str(env_python(env, cache)), "-c", code], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise EnvError(f"cannot read the {env.name} env's versions: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)


def check_pins(env: ExporterEnv, versions: dict[str, str]) -> list[str]:
    """Pinned requirements whose installed version differs: what pip could not honour."""
    problems = []
    for line in env.requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" not in line:
            continue
        name, want = (part.strip() for part in line.split("==", 1))
        have = versions.get(name)
        if have is not None and have != want:
            problems.append(f"{name}: pinned {want}, installed {have}")
    return problems
