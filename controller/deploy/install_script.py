"""install-agent.sh, the board side of `controller deploy`, read from this package.

The script is package data (pyproject's package-data), so an installed wheel carries it and `deploy` works
without a checkout; in the checkout, scripts/install-agent.sh is a symlink to the same file for users who run
or copy it by hand.
"""
from __future__ import annotations

from functools import cache
from importlib import resources

NAME = "install-agent.sh"


@cache
def install_script() -> str:
    """The script's text, as `sh -c` gets it over SSH and as first boot copies it onto the SD card."""
    return resources.files(__package__).joinpath(NAME).read_text(encoding="utf-8")
