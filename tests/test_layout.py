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


def _from_target(node: ast.ImportFrom, package: str) -> str:
    """The absolute module a `from ... import` names, relative ones resolved against `package`."""
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) for every import in the file, function-level ones included."""
    module, is_package = _module_name(path)
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _from_target(node, package)
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


def _within(target: str, packages: tuple[str, ...]) -> bool:
    return any(target == f or target.startswith(f + ".") for f in packages)


def _violations(folder: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    """Imports of `forbidden` modules (or their submodules) from the files of `folder`, except `allowed` ones."""
    bad = []
    for path in _sources(folder):
        for line, target in _imports(path):
            if _within(target, forbidden) and not _within(target, allowed):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    return bad


CONTROLLER = "edgebench.controller"


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


def test_only_link_speaks_the_wire_contract():
    # The gRPC stubs stop at controller/link/: everything above it works on the dataclasses of records/.
    bad = [v for v in _violations("controller", ("edgebench.v1",)) if not v.startswith("controller/link/")]
    assert bad == []


def test_nothing_imports_the_command_line():
    # cli/ is argparse and printing only: no core module may depend on it.
    bad = [v for v in _violations("controller", (f"{CONTROLLER}.cli",)) if not v.startswith("controller/cli/")]
    assert bad == []


@pytest.mark.parametrize("folder", ["controller/records", "controller/stats"])
def test_records_and_statistics_import_nothing_of_the_controller(folder):
    own = _module_name(ROOT / folder / "__init__.py")[0]
    assert _violations(folder, (CONTROLLER, "edgebench.v1"), allowed=(own,)) == []


def test_only_the_command_line_renders():
    # Cores return records; printing and writing them is cli/'s, through output/.
    bad = [v for v in _violations("controller", (f"{CONTROLLER}.output",))
           if not v.startswith(("controller/cli/", "controller/output/"))]
    assert bad == []


def test_renderers_reach_no_board():
    assert _violations("controller/output", (f"{CONTROLLER}.link", "edgebench.v1")) == []


@pytest.mark.parametrize("source", ["controller/bench.py", "controller/prediction"])
def test_bench_predicts_without_the_calibration_runner(source):
    assert _violations(source, (f"{CONTROLLER}.calibration",)) == []


def _module_graph() -> dict[str, set[str]]:
    """controller module -> the controller modules it imports (function-level imports included). `from pkg
    import mod` is an edge to pkg.mod alone, so a package importing its own submodules is no cycle."""
    modules = {_module_name(p)[0] for p in _sources("controller")}
    graph: dict[str, set[str]] = {}
    for path in _sources("controller"):
        name, is_package = _module_name(path)
        package = name if is_package else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom):
                base = _from_target(node, package)
                submodules = {f"{base}.{a.name}" for a in node.names} & modules
                targets |= submodules
                if len(submodules) < len(node.names) and base in modules:
                    targets.add(base)
        graph[name] = targets - {name}
    return graph


def test_the_controller_has_no_import_cycle():
    graph = _module_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []
    cycles: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target):], target]))
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []


def test_installed_package_works_outside_the_checkout(tmp_path):
    # Inside the repository the folders `agent/` and `controller/` are importable from the working directory,
    # which hides a module named by its bare folder name (a resource lookup of "controller.profiles" worked
    # in tests and failed for users). Outside it, only the installed namespace exists.
    code = ("import sys; from edgebench.controller.costmodel import list_profiles; "
            "from edgebench.controller.deploy.install_script import install_script; "
            "print(len(list_profiles()), len(install_script()) > 0, "
            "any(m.split('.')[0] in ('agent', 'controller') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    count, script, bare = out.stdout.split()
    assert int(count) >= 5 and script == "True" and bare == "False"
