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
