"""Where the controller keeps its files on this host: one rule per kind of folder, each overridable by one
environment variable (tests and CI point them at a temporary folder).

    data_dir()    the results store, calibrated profiles, nightly outputs
                  $EDGEBENCH_DATA_DIR, else $XDG_DATA_HOME/edgebench, else ~/.local/share/edgebench
    config_dir()  known targets (tokens, TLS files)
                  $EDGEBENCH_CONFIG_DIR, else $XDG_CONFIG_HOME/edgebench, else ~/.config/edgebench
    cache_dir()   built zoo models, offline wheelhouses
                  $EDGEBENCH_CACHE_DIR, else ~/.cache/edgebench
"""
from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "EDGEBENCH_DATA_DIR"
CONFIG_DIR_ENV = "EDGEBENCH_CONFIG_DIR"
CACHE_DIR_ENV = "EDGEBENCH_CACHE_DIR"


def _xdg(variable: str, fallback: Path) -> Path:
    value = os.environ.get(variable)
    return (Path(value).expanduser() if value else fallback) / "edgebench"


def data_dir() -> Path:
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    return _xdg("XDG_DATA_HOME", Path.home() / ".local" / "share")


def config_dir() -> Path:
    if os.environ.get(CONFIG_DIR_ENV):
        return Path(os.environ[CONFIG_DIR_ENV])
    return _xdg("XDG_CONFIG_HOME", Path.home() / ".config")


def cache_dir() -> Path:
    root = os.environ.get(CACHE_DIR_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "edgebench"
