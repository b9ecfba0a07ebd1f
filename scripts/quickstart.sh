#!/usr/bin/env bash
# Set up edgebench in .venv and run the main job: a local agent on loopback benchmarks two built-in
# models (ONNX and TFLite, no download) at 1 and 2 threads. Extra arguments go to `controller bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[host]'
exec .venv/bin/controller bench --target local zoo:mobilenet_v2 zoo:mobilenet_v2_tflite --threads 1,2 "$@"
