#!/usr/bin/env python3
"""Ten nights of the example suite on one loopback agent: do the nightly regressions raise false alarms, and
do they miss real ones?

    python scripts/bench_nightly.py                       # 10 nights, hog on nights 4 and 8, slower from 7
    python scripts/bench_nightly.py --nights 6 --quick    # fewer inferences per job (a smoke run)

The suite is examples/nightly.toml plus one model file of its own, `slowed.onnx` (a chain of 10 MatMuls),
which from night --slow-from on is replaced by a chain of 13: the same benchmark by name, 30% more work, as
when someone commits a heavier model. The agent runs pinned to one CPU; on the --hog-nights a CPU hog (a busy
loop at the agent's priority) is pinned to that same CPU for the whole night. Each night is the real
`controller regress` into one SQLite store; nothing is changed between nights but the model file and the hog.

Run it at normal priority (the agent and the hog inherit it; the controller is niced to 10): on a machine
shared with others' niced work, that work is the board's housekeeping, the hog is a peer of the worker.

It prints every night's verdicts, then:
  false alarms       regressions flagged on a benchmark that did not change (and on slowed.onnx before it did)
  false improvements unchanged benchmarks reported faster (printed, not a failure)
  unconfirmed        changes seen on a first attempt that its re-run did not confirm (regress --confirm)
  missed regressions nights from --slow-from on where slowed.onnx was compared and not flagged
  excluded           cases not compared because every attempt was contended or throttled (said so, not passed)
The machine is shared: the load average of each night is printed beside its verdicts. Not part of CI.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import onnx  # noqa: E402
import tomllib  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edgebench.controller import zoo  # noqa: E402
from edgebench.controller.link.local_agent import start_local_agent  # noqa: E402
from edgebench.controller.store import RunFilter, open_store  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SLOWED = "slowed"
HOG = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end: pass"


def matmul_chain(path: Path, repeats: int, n: int = 192) -> Path:
    """`repeats` chained n x n MatMuls with the same input and output: work proportional to `repeats`."""
    import numpy as np

    w = numpy_helper.from_array((np.random.default_rng(0).standard_normal((n, n)) / n).astype(np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x" if i == 0 else f"h{i - 1}", "w"], [f"h{i}" if i < repeats - 1 else "y"])
             for i in range(repeats)]
    graph = helper.make_graph(nodes, SLOWED, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def suite_text(example: Path, slowed: Path, quick: bool) -> str:
    """The example suite's benchmarks (its zoo models), with slowed.onnx added."""
    doc = tomllib.loads(example.read_text())
    lines = ['name = "nightly"']
    for b in doc["benchmarks"]:
        b = dict(b)
        if quick:
            b.pop("duration", None)
            b["runs"] = 40
        lines.append("[[benchmarks]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in b.items()]
    lines += ["[[benchmarks]]", f"model = {json.dumps(str(slowed))}", 'runtime = "onnxruntime"', "threads = [1]",
              f"runs = {40 if quick else 200}"]
    return "\n".join(lines) + "\n"


def pin(pid: int, cpu: int) -> None:
    """Every thread of the process on `cpu`: the workers it starts inherit it."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        os.sched_setaffinity(int(tid), {cpu})


def load1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nights", type=int, default=10)
    p.add_argument("--hog-nights", default="4,8")
    p.add_argument("--slow-from", type=int, default=7)
    p.add_argument("--base-matmuls", type=int, default=10, help="slowed.onnx before the change (then x1.3)")
    p.add_argument("--suite", default=str(ROOT / "examples" / "nightly.toml"))
    p.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)), help="the CPU the agent runs on")
    p.add_argument("--rerun-wait", type=float, default=15.0, help="regress --rerun-wait (seconds)")
    p.add_argument("--quick", action="store_true", help="40 inferences per job, no durations (a smoke run)")
    p.add_argument("--keep", metavar="DIR", help="keep the store and the nights' JSON here")
    args = p.parse_args()
    hog_nights = {int(n) for n in args.hog_nights.split(",") if n}
    slow_matmuls = round(args.base_matmuls * 1.3)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="edgebench-nightly-"))
    work.mkdir(parents=True, exist_ok=True)
    db = f"sqlite://{work / 'nightly.sqlite'}"
    slowed = work / f"{SLOWED}.onnx"
    matmul_chain(slowed, args.base_matmuls)
    (work / "suite.toml").write_text(suite_text(Path(args.suite), slowed, args.quick))
    for b in tomllib.loads(Path(args.suite).read_text())["benchmarks"]:  # built before night 1, not during it
        for m in [b["model"]] if isinstance(b["model"], str) else b["model"]:
            if zoo.is_zoo_ref(m):
                zoo.resolve(m)
    print(f"bench_nightly: {args.nights} nights of {args.suite} + {SLOWED}.onnx ({args.base_matmuls} MatMuls, "
          f"{slow_matmuls} from night {args.slow_from}); hog on nights {sorted(hog_nights)}; agent on CPU "
          f"{args.cpu}; {os.cpu_count()} CPUs on this shared machine, load {load1():.1f} now; store {db}",
          flush=True)

    nights = []
    with start_local_agent(str(work / "agent"), ["--no-sensors"]) as agent:
        pin(agent.process.pid, args.cpu)
        (work / "fleet.toml").write_text(f'[[targets]]\nname = "loopback"\naddress = "{agent.address}"\n')
        for n in range(1, args.nights + 1):
            if n == args.slow_from:
                matmul_chain(slowed, slow_matmuls)
            hog = subprocess.Popen(["taskset", "-c", str(args.cpu), sys.executable, "-c", HOG.format(s=3600)]) \
                if n in hog_nights else None
            load_start, t0 = load1(), time.monotonic()
            try:
                out = work / f"night{n:02d}.json"
                proc = subprocess.run(  # the controller niced: it must not take the board's CPU itself
                    ["nice", "-n", "10", sys.executable, "-m", "edgebench.controller.cli", "regress", "--fleet", str(work / "fleet.toml"),
                     "--suite", str(work / "suite.toml"), "--db", db, "--json", str(out), "--label", f"night={n}",
                     "--rerun-wait", str(args.rerun_wait)], capture_output=True, text=True, timeout=3600, cwd=ROOT)
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait(timeout=10)
            if not out.exists():
                print(f"night {n}: regress wrote nothing (rc {proc.returncode}): {proc.stderr[-800:]}")
                return 2
            doc = json.loads(out.read_text())
            with open_store(db) as store:
                attempts = store.query(RunFilter(session_id=doc["session"], limit=None))
            nights.append({"night": n, "hog": n in hog_nights, "slowed": n >= args.slow_from, "cases": doc["cases"],
                           "contended": sum(bool(r.contended) for r in attempts), "attempts": len(attempts),
                           "load": (load_start, load1()), "seconds": time.monotonic() - t0})
            report(nights[-1])
    return summary(nights, args.slow_from)


def _is_slowed(case: dict) -> bool:
    return Path(case["model"]).stem == SLOWED


def report(night: dict) -> None:
    cells = []
    for c in night["cases"]:
        name = c["benchmark"].replace(" onnxruntime", " ort").replace(" threads=", " t")
        change = "" if c["change"] is None else f" {c['change']:+.0%}"
        gate = "" if c["min_effect"] is None else f" (gate {c['min_effect']:.0%})"
        cells.append(f"{name}: {c['verdict']}{change}{gate}")
    flags = ("HOG " if night["hog"] else "") + ("SLOWER " if night["slowed"] else "")
    print(f"night {night['night']:2d} {flags}load {night['load'][0]:.1f}->{night['load'][1]:.1f}, "
          f"{night['seconds']:.0f} s, {night['contended']}/{night['attempts']} attempts contended", flush=True)
    for cell in cells:
        print(f"    {cell}", flush=True)


def summary(nights: list[dict], slow_from: int) -> int:
    false_alarms = [(n["night"], c["benchmark"]) for n in nights for c in n["cases"]
                    if c["verdict"] == "regression" and not (_is_slowed(c) and n["night"] >= slow_from)]
    expected = [(n["night"], c) for n in nights for c in n["cases"] if _is_slowed(c) and n["night"] >= slow_from]
    false_gains = [(n["night"], c["benchmark"]) for n in nights for c in n["cases"]
                   if c["verdict"] == "improvement" and not (_is_slowed(c) and n["night"] == slow_from)]
    unconfirmed = [(n["night"], c["benchmark"]) for n in nights for c in n["cases"]
                   if "not confirmed by its re-run" in (c.get("message") or "")]
    missed = [night for night, c in expected if c["verdict"] in ("same", "improvement", "new", "insufficient")]
    caught = [night for night, c in expected if c["verdict"] == "regression"]
    excluded = [(n["night"], c["benchmark"]) for n in nights for c in n["cases"] if c["verdict"] == "excluded"]
    errors = [(n["night"], c["benchmark"], c["message"]) for n in nights for c in n["cases"] if c["verdict"] == "error"]
    hog = [n for n in nights if n["hog"]]
    quiet = [n for n in nights if not n["hog"]]
    print()
    print(f"false alarms: {len(false_alarms)}" + (f" {false_alarms}" if false_alarms else ""))
    print(f"false improvements (an unchanged benchmark reported faster; not a failure): {len(false_gains)}"
          + (f" {false_gains}" if false_gains else ""))
    print(f"changes seen once and not confirmed by their re-run (reported as same): {len(unconfirmed)}"
          + (f" {unconfirmed}" if unconfirmed else ""))
    print(f"missed regressions: {len(missed)} of {len(expected)} nights with the slower model"
          + (f" (nights {missed})" if missed else "") + f"; flagged on nights {caught}")
    print(f"excluded (every attempt contended or throttled, reported as such): {len(excluded)} cases"
          + (f", nights {sorted({n for n, _ in excluded})}" if excluded else ""))
    print(f"errors: {len(errors)}" + (f" {errors[:3]}" if errors else ""))
    print(f"contended attempts: hog nights {sum(n['contended'] for n in hog)}/{sum(n['attempts'] for n in hog)}, "
          f"other nights {sum(n['contended'] for n in quiet)}/{sum(n['attempts'] for n in quiet)} (this machine's "
          "own load)")
    return 1 if false_alarms or missed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
