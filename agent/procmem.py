"""A process's own memory figures from /proc/PID/status (kB there means KiB)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ProcMemory:
    rss_kib: int | None
    hwm_kib: int | None  # peak resident set size (VmHWM)


def read_proc_memory(pid: int | str = "self", proc_root: str = "/proc") -> ProcMemory:
    rss = hwm = None
    try:
        with open(f"{proc_root}/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return ProcMemory(rss, hwm)


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs). False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
MMAP_THRESHOLD_BYTES = 1 << 20


def bound_heap_retention() -> bool:
    """Keep the agent's RSS from staying at its high-water mark after bursts of large messages.

    glibc raises its mmap threshold each time a large block is freed, so later megabyte buffers (gRPC
    messages) come from per-thread heaps that are never given back: 200 health checks of 15 MiB left the
    agent at 336 MB. A fixed threshold keeps every block of 1 MiB or more mmapped and returned on free
    (87 MB after the same burst). False where there is no glibc (musl, macOS): nothing changes there."""
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False
