"""Content-addressed model cache: models/<sha256>. Paths come from hashes only, never from names."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import sys
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK_BYTES = 1 << 20


class UploadError(Exception):
    """The upload is refused; `code` names the gRPC status that fits."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_sha256(sha: str) -> str:
    if not _SHA256.match(sha or ""):
        raise UploadError("INVALID_ARGUMENT", f"not a sha256 hex digest: {sha[:80]!r}")
    return sha


@dataclass
class StoredModel:
    sha256: str
    path: Path
    size_bytes: int
    already_present: bool = False


class ModelStore:
    def __init__(self, root: Path, max_model_bytes: int) -> None:
        self.root = root
        self.max_model_bytes = max_model_bytes
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._verified: set[str] = set()  # hashes checked since this agent started
        for leftover in root.glob("*.part"):  # an upload cut off by a crash
            leftover.unlink(missing_ok=True)

    def path_for(self, sha: str) -> Path:
        return self.root / check_sha256(sha)

    def get(self, sha: str) -> StoredModel | None:
        """The cached model; re-hashed on its first use after each agent start (a crash or a bad disk).

        Anything at the model's path that is not a regular file (a directory, a link, a FIFO that hashing
        would block on) is a damaged cache entry: removed and reported, so the controller uploads it again."""
        path = self.path_for(sha)
        try:
            st = path.lstat()
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(st.st_mode):
            self._remove_damaged(sha, path, f"it was a {_file_kind(st.st_mode)}, not a file")
            return None
        if sha not in self._verified:
            if not self.verify(sha):
                self._remove_damaged(sha, path, "it did not match its hash")
                return None
            self._verified.add(sha)
        return StoredModel(sha, path, st.st_size)

    def _remove_damaged(self, sha: str, path: Path, why: str) -> None:
        with self._lock:
            self._verified.discard(sha)
            try:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
                outcome = "was removed"
            except OSError as exc:
                outcome = f"could not be removed ({exc.strerror or exc})"
        print(f"edgebench-agent: cached model {sha} is damaged ({why}) and {outcome}; upload it again",
              file=sys.stderr, flush=True)

    def verify(self, sha: str) -> bool:
        """Re-hash a cached model (after a crash, before trusting it)."""
        try:
            return file_sha256(self.path_for(sha)) == sha
        except OSError:
            return False

    def put_stream(self, sha: str, declared_size: int, chunks: Iterable[bytes]) -> StoredModel:
        """Write chunks to a temp file, check size and hash, then move into place atomically."""
        check_sha256(sha)
        if declared_size > self.max_model_bytes:
            raise UploadError(
                "RESOURCE_EXHAUSTED",
                f"model is {declared_size} bytes, over this agent's limit of {self.max_model_bytes} bytes "
                "(--max-model-mb)",
            )
        existing = self.get(sha)
        if existing is not None:
            for _ in chunks:  # drain the stream; the cached copy is kept
                pass
            existing.already_present = True
            return existing
        tmp = self.root / f"{sha}.{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with open(tmp, "wb") as f:
                for data in chunks:
                    size += len(data)
                    if size > self.max_model_bytes:
                        raise UploadError(
                            "RESOURCE_EXHAUSTED", f"upload exceeds this agent's limit of {self.max_model_bytes} bytes"
                        )
                    if size > declared_size:
                        raise UploadError("INVALID_ARGUMENT", f"upload is longer than its declared {declared_size} bytes")
                    digest.update(data)
                    f.write(data)
                f.flush()
                os.fsync(f.fileno())
            if size != declared_size:
                raise UploadError("INVALID_ARGUMENT", f"upload ended after {size} of {declared_size} bytes")
            if digest.hexdigest() != sha:
                raise UploadError("DATA_LOSS", f"uploaded bytes hash to {digest.hexdigest()}, not {sha}")
            with self._lock:
                os.replace(tmp, self.root / sha)
                self._verified.add(sha)
        finally:
            tmp.unlink(missing_ok=True)
        return StoredModel(sha, self.root / sha, size)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "directory"), (stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "FIFO"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return kind
    return "special file"
