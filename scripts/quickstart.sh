#!/usr/bin/env bash
# Set up edgebench in .venv and run the main job: a local agent on loopback benchmarks two built-in
# models (ONNX and TFLite, no download) at 1 and 2 threads, measured beside predicted. Extra arguments go
# to `controller bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[host]'
# Predictions are only as good as the board's profile: measure this machine once (about 15 s) so the
# predicted column is this machine's, not a nominal x86 host's.
data_dir=${EDGEBENCH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/edgebench}
if ! ls "$data_dir"/profiles/*.json >/dev/null 2>&1; then
  .venv/bin/controller calibrate --target local
fi
exec .venv/bin/controller bench --target local zoo:mobilenet_v2 zoo:mobilenet_v2_tflite --threads 1,2 "$@"
