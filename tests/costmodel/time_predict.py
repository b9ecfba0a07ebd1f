"""Time `predict_model` on the zoo's ResNet-50 (a script, not a test: timings on shared CI are noise).

    .venv/bin/python tests/costmodel/time_predict.py [zoo:NAME or path] [--device rpi4] [--repeat 5]

Prints the cold time (first call in a fresh process, including importing onnx) and the best warm time.
The aim is well under 1 s for a ResNet-50-sized model (100 MB of weights, ~175 nodes).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", default="zoo:resnet50")
    parser.add_argument("--device", default="rpi4")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from edgebench.controller.models import resolve_model

    path = resolve_model(args.model).path  # build outside the timing: the zoo's build is not predict's cost
    from edgebench.controller.costmodel import predict_model

    start = time.perf_counter()
    prediction = predict_model(path, args.device)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        predict_model(path, args.device)
        warm.append(time.perf_counter() - start)
    size_mb = os.path.getsize(path) / 1e6
    print(f"{args.model}: {size_mb:.1f} MB, {len(prediction.model.nodes)} nodes, "
          f"{prediction.model.macs / 1e9:.3f} GMACs")
    print(f"predict_model cold {cold * 1e3:.0f} ms (includes importing onnx), warm best {min(warm) * 1e3:.0f} ms, "
          f"median {sorted(warm)[len(warm) // 2] * 1e3:.0f} ms over {len(warm)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
