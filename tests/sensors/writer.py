"""Fixture writer: updates one sysfs-style file in place at a known rate, like a kernel driver would.

    writer.py PATH counter POWER_W START_UJ [MAX_UJ]
                                                energy_uj = START + POWER x (t - t0), wrapping at MAX (RAPL)
    writer.py PATH ramp P0_W SLOPE_W_PER_S      power1_input uW = P0 + SLOPE x (t - t0) (INA219)

Runs until PATH.stop exists (at most 60 s). Prints one JSON line once the first value is written
({"t0_ns": ...}) and one when it ends ({"max_gap_ns": ..., "writes": ...}): the largest gap between two
writes bounds how stale a value the sampler can have read, which is what the tests' tolerance is made of.
"""
from __future__ import annotations

import json
import os
import sys
import time


def now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def main() -> None:
    path, mode, a, b = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    wrap = int(sys.argv[5]) if len(sys.argv) > 5 else None
    stop = path + ".stop"
    fd = os.open(path, os.O_WRONLY)
    t0 = now_ns()
    last = None
    max_gap = 0
    writes = 0
    deadline = t0 + 60 * 10**9
    while True:
        t = now_ns()
        if mode == "counter":
            value = int(b + a * (t - t0) / 1e9 * 1e6)  # uJ
            if wrap:
                value %= wrap
        else:
            value = int((a + b * (t - t0) / 1e9) * 1e6)  # uW
        data = f"{value}\n".encode()
        os.pwrite(fd, data, 0)  # in place, same inode: a held-open reader sees it after seek(0)
        os.ftruncate(fd, len(data))
        if last is not None:
            max_gap = max(max_gap, t - last)
        last = t
        writes += 1
        if writes == 1:
            print(json.dumps({"t0_ns": t0}), flush=True)
        if os.path.exists(stop) or t > deadline:
            break
        time.sleep(0.002)
    os.close(fd)
    print(json.dumps({"max_gap_ns": max_gap, "writes": writes, "t_end_ns": now_ns()}), flush=True)


if __name__ == "__main__":
    main()
