"""Store fixtures shared by tests/store and tests/e2e: the same tests run on SQLite and on a real PostgreSQL."""
from __future__ import annotations

import pytest

from tests.store.pg import server

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_server():
    # No skip: a PostgreSQL that cannot start is a failure of every test that asked for it.
    return server()


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path) -> str:
    """A fresh, empty results store of each kind."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'results.sqlite'}"
    return request.getfixturevalue("pg_server").create_database()
