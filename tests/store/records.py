"""Run objects shaped exactly like `bench --json` runs (RunRecord.to_json()), for store tests."""
from __future__ import annotations

import copy
from typing import Any

from edgebench.controller.records import LatencyRecord, RunRecord

BOARD = {"model": "Raspberry Pi 5 Model B Rev 1.0", "soc": "BCM2712", "hostname": "pi5", "machine": "aarch64",
         "os": "Debian", "cpu_count": 4, "memory_total_mb": 8063, "governor": "ondemand",
         "fingerprint": "3f1c00aa11bb22cc", "agent_version": "0.1.0"}


def make_record(samples: list[float], *, model: str = "mobilenet_v2", sha: str = "ab" * 32, threads: int = 4,
                runtime: str = "onnxruntime", ep: str = "CPUExecutionProvider", status: str = "ok",
                fingerprint: str | None = None, throttled: bool | None = None, finished: float | None = None,
                trace: bool = False, predicted_ms: float | None = 7.5) -> dict[str, Any]:
    board = copy.deepcopy(BOARD)
    if fingerprint:
        board["fingerprint"] = fingerprint
    r = RunRecord(target="pi@10.0.0.5", board=board,
                  model={"name": model, "source": f"zoo:{model}", "format": "onnx", "sha256": sha,
                         "size_bytes": 1000},
                  runtime=runtime, runtime_version="1.32.0", ep=ep, threads=threads, status=status)
    r.inputs = [{"name": "input", "dtype": "float32", "shape": [1, 3, 224, 224]}]
    r.finished_unix_s = finished
    r.job_spec = {"model_sha256": sha, "threads": threads, "runs": len(samples), "warmup_runs": 5}
    if status == "ok":
        s = sorted(samples)
        r.samples_ms = list(samples)
        r.latency_ms = LatencyRecord(s[0], sum(s) / len(s), 0.0, s[len(s) // 2], s[-1], s[-1], s[-1], s[-1], len(s))
        r.peak_rss_mb = 80.5
        r.load_ms = 20.0
    else:
        r.error = "worker killed by signal 9"
    if predicted_ms is not None:
        r.predicted = {"device": "rpi5", "source": "built-in rpi5", "predicted_latency_ms": predicted_ms,
                       "predicted_memory_bytes": 1 << 26, "error": None}
    if throttled is not None or trace:
        r.energy = {"power_avg_w": 6.5, "power_idle_w": 3.0, "energy_j_per_inference": 0.05,
                    "energy_j_per_inference_above_idle": 0.03, "power_source": "rpi5-pmic", "temp_max_c": 61.0,
                    "throttled": throttled}
        if trace:
            r.energy["trace"] = [
                {"sensor": "rpi5-pmic", "kind": "power", "figure": "power", "unit": "W",
                 "t_s": [-0.2, 0.0, 0.1, 0.2], "values": [3.0, 6.0, 6.6, 6.4]},
                {"sensor": "thermal", "kind": "temperature", "figure": "cpu-thermal", "unit": "C",
                 "t_s": [-0.2, 0.0, 0.1, 0.2], "values": [55.0, 57.0, 59.5, 61.0]}]
    return r.to_json()
