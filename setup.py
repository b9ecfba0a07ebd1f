"""Packages for pyproject.toml's metadata: the repository's folders installed under one `edgebench` namespace.

    agent/                -> edgebench.agent       (the board side; imports nothing of the controller)
    controller/           -> edgebench.controller  (the host side)
    protos/edgebench/v1/  -> edgebench.v1          (the gRPC contract's generated stubs, imported by both)

setuptools' declarative `packages` cannot list a remapped folder's subpackages, so they are found here.
"""
from setuptools import find_packages, setup

FOLDERS = {
    "edgebench.agent": "agent",
    "edgebench.controller": "controller",
    "edgebench.v1": "protos/edgebench/v1",
}

packages: list[str] = []
package_dir: dict[str, str] = {}
for name, folder in FOLDERS.items():
    packages.append(name)
    package_dir[name] = folder
    for sub in find_packages(folder):
        packages.append(f"{name}.{sub}")
        package_dir[f"{name}.{sub}"] = f"{folder}/{sub.replace('.', '/')}"

setup(packages=packages, package_dir=package_dir)
