"""Reading sysfs attributes: held open, re-read from offset 0, every failure turned into a reason.

Reopening a sysfs file each sample costs a path walk and an allocation; holding it open and seeking to
0 is how psutil and jetson-stats read fast. Files are opened O_NONBLOCK: sysfs ignores the flag, and a
FIFO standing in for a file that the kernel answers with EAGAIN then returns EAGAIN instead of hanging.
"""
from __future__ import annotations

import errno
import glob
import os
from typing import Iterable

_MAX_BYTES = 4096  # one sysfs attribute is at most a page


class ReadError(Exception):
    """A value that could not be read; str(err) is the reason shown to the user."""


def errno_reason(err: OSError, path: str) -> str:
    code = err.errno
    if code == errno.ENOENT:
        return f"missing: {path}"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied: {path}"
    if code == errno.EAGAIN:
        return f"temporarily unavailable (EAGAIN): {path}"
    if code in (errno.ENODEV, errno.ENXIO):
        return f"device gone: {path}"
    if code == errno.ENODATA:
        return f"no data (channel disabled?): {path}"
    return f"{os.strerror(code) if code else err}: {path}"


class SysfsAttr:
    """One attribute file. `read_text()` raises ReadError with the reason, never returns stale data."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._seekable = True

    def _open(self) -> int:
        try:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as err:
            raise ReadError(errno_reason(err, self.path)) from None
        self._seekable = True
        return self._fd

    def read_text(self) -> str:
        fd = self._fd if self._fd is not None else self._open()
        try:
            # A fixture file deleted while held open would keep its old content; sysfs files of a removed
            # device answer ENODEV instead. Both mean gone: reopen by path (ENOENT if really gone).
            if os.fstat(fd).st_nlink == 0:
                self.close()
                fd = self._open()
            if self._seekable:
                try:
                    os.lseek(fd, 0, os.SEEK_SET)
                except OSError as err:
                    if err.errno != errno.ESPIPE:
                        raise
                    self._seekable = False  # a pipe: each read takes what was written since
            data = os.read(fd, _MAX_BYTES)
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.ENODATA):
                self.close()  # the next sample reopens: the device may come back
            raise ReadError(errno_reason(err, self.path)) from None
        text = data.decode("ascii", "replace").strip()
        if not text:
            raise ReadError(f"empty: {self.path}")
        return text

    def read_int(self) -> int:
        text = self.read_text()
        try:
            return int(text)
        except ValueError:
            raise ReadError(f"garbage in {self.path}: {text[:40]!r}") from None

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


def read_once(path: str) -> str:
    """Discovery-time read of a small file (name, label, type). Raises ReadError."""
    attr = SysfsAttr(path)
    try:
        return attr.read_text()
    finally:
        attr.close()


def read_once_or_none(path: str) -> str | None:
    try:
        return read_once(path)
    except ReadError:
        return None


def probe(paths: Iterable[str], *, as_int: bool = True) -> str | None:
    """Discovery's check that files read now (as integers, or as any text): None, or the first reason."""
    for path in paths:
        attr = SysfsAttr(path)
        try:
            attr.read_int() if as_int else attr.read_text()
        except ReadError as err:
            return str(err)
        finally:
            attr.close()
    return None


def sorted_glob(pattern: str) -> list[str]:
    """Glob sorted by the numbers in the names (hwmon10 after hwmon9)."""
    def key(p: str) -> tuple:
        parts: list[object] = []
        num = ""
        for ch in p:
            if ch.isdigit():
                num += ch
                continue
            if num:
                parts.append(int(num))
                num = ""
            parts.append(ch)
        if num:
            parts.append(int(num))
        return tuple((0, x) if isinstance(x, int) else (1, x) for x in parts)

    return sorted(glob.glob(pattern), key=key)
