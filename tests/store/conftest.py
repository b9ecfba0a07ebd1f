from tests.store.fixtures import pg_server, store_url  # noqa: F401
