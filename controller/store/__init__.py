"""The results store (SQLite by default, PostgreSQL by URL): every measured run, its samples and verdicts."""
from .model import Acceptance, RunFilter, Session, StoredRun, Verdict, short_ep
from .schema import SCHEMA_VERSION
from .store import NewRun, Store, decode_samples, encode_samples, open_store
from .url import DB_ENV, StoreError, StoreURL, resolve_url

__all__ = ["DB_ENV", "Acceptance", "SCHEMA_VERSION", "NewRun", "RunFilter", "Session", "Store", "StoreError", "StoreURL",
           "StoredRun", "Verdict", "decode_samples", "encode_samples", "open_store", "resolve_url", "short_ep"]
