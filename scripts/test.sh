#!/usr/bin/env bash
# Set up everything the tests need (a virtual environment in .venv) and run the whole suite, then (with no
# arguments, as CI runs it) the agent on aarch64: scripts/test-aarch64.sh (an emulated arm64 Debian userland,
# cached in ~/.cache/edgebench/aarch64).
# Extra arguments go to pytest alone, e.g. ./scripts/test.sh -k bench
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
./scripts/system-deps.sh
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
.venv/bin/python -m ruff check .
set +e
.venv/bin/python -m pytest --durations=15 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "scripts/test.sh: pytest collected no tests; that is a failure, not a pass" >&2
  exit 1
fi
if [ "$#" -gt 0 ]; then
  exit "$rc"
fi
if [ "$rc" -ne 0 ]; then
  echo "scripts/test.sh: the suite failed (exit $rc); the aarch64 tests were not run" >&2
  exit "$rc"
fi
./scripts/test-aarch64.sh
