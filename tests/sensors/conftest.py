"""The `board` fixture: see sensor_fixtures.py."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator

import pytest
from sensor_fixtures import Board, make_board


@pytest.fixture
def board(tmp_path: Path) -> Iterator[Callable[..., Board]]:
    made: list[Board] = []

    def make(name: str, **overrides: object) -> Board:
        b = make_board(name, tmp_path, **overrides)
        made.append(b)
        return b

    yield make
    for b in made:
        for fd in b.fifos.values():
            os.close(fd)

