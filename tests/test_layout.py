"""The import rules the README's Layout section states, checked on the source tree itself.

Every import is resolved to its absolute module name (relative ones against the file's package under the
`edgebench` namespace), so a rule cannot be dodged by writing `from .. import x`.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"agent": "edgebench.agent", "controller": "edgebench.controller", "protos/edgebench/v1": "edgebench.v1"}


def _module_name(path: Path) -> tuple[str, bool]:
    for folder, package in FOLDERS.items():
        base = ROOT / folder
        if base in path.parents:
            parts = list(path.relative_to(base).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            return ".".join([package, *parts]), is_package
    raise ValueError(path)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, function-level ones included."""
    module, is_package = _module_name(path)
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((node.lineno, target))
            # `from . import x` may name a submodule: count it as an import of that module too.
            out.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
    return out


def _sources(folder: str) -> list[Path]:
    """The .py files under a folder (or the one file named)."""
    path = ROOT / folder
    assert path.exists(), f"{folder} is gone: update the layout rules"
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)


def _violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in _sources(folder):
        for line, target in _imports(path):
            if any(target == f or target.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    return bad


def test_agent_imports_nothing_of_the_controller():
    assert _violations("agent", ("edgebench.controller",)) == []


def test_no_bare_top_level_agent_or_controller_imports():
    # Installed, the folders are edgebench.agent / edgebench.controller; a bare `agent` is another project's.
    bad = []
    for folder in ("agent", "controller", "scripts", "tests"):
        for path in _sources(folder):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
                bad.extend(f"{path.relative_to(ROOT)}:{node.lineno} imports {n}" for n in names
                           if n.split(".")[0] in ("agent", "controller"))
    assert bad == []


@pytest.mark.parametrize("module", ["edgebench.agent.cli", "edgebench.agent.server", "edgebench.agent.worker"])
def test_agent_modules_load_without_the_controller_installed(module):
    # What a board imports must not pull in the host's code, even indirectly.
    code = ("import sys, importlib; importlib.import_module(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.startswith('edgebench.controller')))")
    out = subprocess.run([sys.executable, "-c", code, module], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


SENSORS = "edgebench.agent.sensors"


@pytest.mark.parametrize("folder, forbidden", [
    # The interface is the bottom: it knows no plumbing and no source.
    ("agent/sensors/base.py", (f"{SENSORS}.io", f"{SENSORS}.sources", f"{SENSORS}.registry")),
    ("agent/sensors/throttle.py", (f"{SENSORS}.io", f"{SENSORS}.sources", f"{SENSORS}.registry")),
    # The plumbing knows no board: no source, no registry.
    ("agent/sensors/io", (f"{SENSORS}.sources", f"{SENSORS}.registry")),
    # A source never reaches up to the registry that lists it.
    ("agent/sensors/sources", (f"{SENSORS}.registry",)),
])
def test_sensor_layers(folder, forbidden):
    assert _violations(folder, forbidden) == []


def test_sensor_modules_do_not_import_their_own_package():
    # The package's __init__ imports every module: a name taken from it inside the package may not be there
    # yet (a circle). Modules import from the module that defines the name.
    bad = [f"{path.relative_to(ROOT)}:{line} imports {target}"
           for path in _sources("agent/sensors") if path.name != "__init__.py"
           for line, target in _imports(path) if target == SENSORS]
    assert bad == []
