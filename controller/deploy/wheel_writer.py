"""edgebench's wheel written by edgebench itself: a zip of the checkout's packages and the metadata
pyproject.toml declares (PEP 427 layout, core metadata 2.4), for environments whose setuptools cannot build it
without the package index.

The quick start's own venv is one: Python 3.10/3.11's stock venv has setuptools 65.5 and no `wheel` package,
while pyproject.toml needs setuptools 77 (its SPDX license string); pip's isolated build would fetch one from
the index, which a host deploying `--offline` may not reach. The project is pure Python, so its wheel is only
files and text: the same packages, package data and entry points setuptools puts in (a test compares the two).
"""
from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path
from typing import Any

# setup.py's mapping: the repository's folders installed under the `edgebench` namespace.
FOLDERS = {"edgebench.agent": "agent", "edgebench.controller": "controller", "edgebench.v1": "protos/edgebench/v1"}
# pyproject.toml's [tool.setuptools.package-data]: what besides modules every package ships.
DATA_SUFFIXES = (".json", ".toml", ".pyi")
EXTRA_FILES = {"edgebench.controller.deploy": ("install-agent.sh",)}
# A fixed date for every member: the same sources give the same wheel, byte for byte.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def read_pyproject(root: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # the host extra installs tomli on 3.10
        import tomli as tomllib
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))


def package_files(root: Path) -> list[tuple[str, Path]]:
    """(path in the wheel, file in the checkout) for every module and data file of every package."""
    out = []
    for package, folder in FOLDERS.items():
        base = root / folder
        for directory in sorted([base, *(d for d in base.rglob("*") if d.is_dir())]):
            if not (directory / "__init__.py").is_file() or "__pycache__" in directory.parts:
                continue
            dotted = package + "".join(f".{p}" for p in directory.relative_to(base).parts)
            wanted = EXTRA_FILES.get(dotted, ())
            for f in sorted(directory.iterdir()):
                if f.is_file() and (f.suffix == ".py" or f.suffix in DATA_SUFFIXES or f.name in wanted):
                    out.append((f"{dotted.replace('.', '/')}/{f.name}", f))
    return out


def core_metadata(project: dict[str, Any], readme: str) -> str:
    lines = ["Metadata-Version: 2.4", f"Name: {project['name']}", f"Version: {project['version']}",
             f"Summary: {project.get('description', '')}"]
    license_text = project.get("license")
    if isinstance(license_text, str):
        lines.append(f"License-Expression: {license_text}")
    lines.append(f"Requires-Python: {project.get('requires-python', '')}")
    if readme:
        lines.append("Description-Content-Type: text/markdown")
    lines += [f"Requires-Dist: {req}" for req in project.get("dependencies", [])]
    for extra, reqs in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        for req in reqs:
            spec, _, marker = req.partition(";")
            condition = f'({marker.strip()}) and extra == "{extra}"' if marker.strip() else f'extra == "{extra}"'
            lines.append(f"Requires-Dist: {spec.strip()}; {condition}")
    return "\n".join(lines) + "\n\n" + readme


def write_wheel(root: Path, out_dir: Path) -> Path:
    project = read_pyproject(root)["project"]
    name, version = project["name"], project["version"]
    dist_info = f"{name}-{version}.dist-info"
    readme_path = root / str(project.get("readme", "README.md"))
    readme = readme_path.read_text(encoding="utf-8") if readme_path.is_file() else ""
    scripts = project.get("scripts", {})
    meta = {
        f"{dist_info}/METADATA": core_metadata(project, readme),
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: edgebench wheel_writer\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n",
        f"{dist_info}/entry_points.txt": "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items()),
        f"{dist_info}/top_level.txt": "edgebench\n",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{name}-{version}-py3-none-any.whl"
    record: list[str] = []
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        members = [(arc, f.read_bytes()) for arc, f in package_files(root)]
        members += [(arc, text.encode("utf-8")) for arc, text in meta.items()]
        for arc, data in members:
            info = zipfile.ZipInfo(arc, ZIP_DATE)
            info.external_attr = (0o755 if arc.endswith(".sh") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arc},sha256={digest},{len(data)}")
        record.append(f"{dist_info}/RECORD,,")
        info = zipfile.ZipInfo(f"{dist_info}/RECORD", ZIP_DATE)
        info.external_attr = 0o644 << 16
        z.writestr(info, "\n".join(record) + "\n")
    return wheel
