#!/usr/bin/env bash
# The agent on the boards' own CPU: a Debian bookworm arm64 userland (the base of Raspberry Pi OS 12, Python
# 3.11), run here through qemu-user and binfmt_misc.
#
#   scripts/test-aarch64.sh                  build or reuse the rootfs, then run every check below
#   scripts/test-aarch64.sh prepare          only build or reuse the rootfs and its environments; print it
#   scripts/test-aarch64.sh agent|host [PYTEST ARGS]   only step 3 or step 4 (while working on them;
#                                            options are added to pytest's, tests/... given replace its list)
#
# 1. The arm64 rootfs (debootstrap, minbase), cached in ~/.cache/edgebench/aarch64/ under a key of its recipe
#    (the build_rootfs function below) and the Debian suite; built once, then reused.
# 2. Python environments inside it, filled by this machine's own pip with aarch64 wheels (no emulation), keyed
#    by the rootfs, the board's Python and C library, and pyproject.toml's requirements: `test` (the agent
#    with its runtimes, the controller and pytest) and `tflite` (the tflite-runtime fallback, NumPy < 2).
#    edgebench itself is built from this checkout on every run and installed beside them.
# 3. Inside the rootfs, emulated: the agent's own tests (API, bad input, bench CLI, protos, units, every
#    sensor fixture, persistence, the tflite-runtime fallback), with EDGEBENCH_EMULATED set so the few checks
#    that compare timings or the host's prediction profile check only what emulation cannot distort.
# 4. On this machine, natively: tests/aarch64 (the controller benches the zoo's ONNX and TFLite models, fp32
#    and int8, through an agent running in the rootfs; Describe says aarch64 and, on the Pi fixtures, the
#    Pi's model and profile; `controller deploy --offline` to a network-namespace board whose SSH sessions
#    run in the rootfs, bench through it, undeploy).
# 3 and 4 run in two lanes at once (emulation is CPU-bound; this machine has 2 cores), each lane's output
# printed when it ends.
# Needs root (debootstrap, chroot, mounts, network namespaces). Where qemu-aarch64 cannot be registered with
# binfmt_misc it says so in one line and exits 1. Mounts live in private mount namespaces (see
# scripts/aarch64/rootfs-exec.sh); a binfmt_misc mount or registration made here is undone on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUITE=bookworm
CACHE=${EDGEBENCH_AARCH64_CACHE:-$HOME/.cache/edgebench/aarch64}
EXEC=$ROOT/scripts/aarch64/rootfs-exec.sh
HOST_PY=$ROOT/.venv/bin/python
BOARD_OPT=/opt/edgebench  # inside the rootfs: environments, this run's edgebench and sources
# The agent's own tests, run inside the rootfs: API, bad input, bench CLI, protos, units, every sensor fixture
# (tests/sensors, and each fixture board through a real agent), persistence and the tflite-runtime fallback.
# Left out there (they run natively in the suite): tests of the controller alone, which runs on the x86 host,
# never on a board (a missing file, an unreachable or malformed target, a foreign agent version, the table,
# CSV, progress and --json renderers), and the three that need sensor readings inside a window of a second or
# less at a given moment (a ramp, a counter at a known power, a file deleted and restored mid-run), which an
# emulated sampler starved of CPU can miss. Every emulated Python process costs seconds, so leaving these out
# also keeps the emulated part within CI's time.
# Lane 1 runs A (10 min here); lane 2 runs tests/aarch64 (4 min), then B (4 min).
AGENT_TESTS_A=(tests/test_units.py tests/test_protos.py tests/e2e/test_agent_api.py tests/e2e/test_bad_input.py
               tests/e2e/test_bench_cli.py tests/e2e/test_persistence.py tests/e2e/test_tflite_runtime_fallback.py)
AGENT_TESTS_B=(tests/sensors tests/e2e/test_sensors_agent.py)
NOT_EMULATED=(test_bad_input.py::test_missing_model_file_is_one_clear_line
              test_bad_input.py::test_unreachable_target_names_address_and_port
              test_bad_input.py::test_bad_target_syntax
              test_bad_input.py::test_agent_version_the_controller_does_not_understand
              test_bench_cli.py::test_table_and_csv_outputs test_bench_cli.py::test_progress_is_reported_on_stderr
              test_bench_cli.py::test_json_written_to_file
              test_sensors_agent.py::test_ina219_power_ramp_known_truth
              test_sensors_agent.py::test_rapl_counter_at_known_power_through_wraps
              test_sensors_agent.py::test_sensor_file_deleted_mid_run)
# ... and those that give a fake vcgencmd or tegrastats (a shell script, which takes 0.3-0.7 s to answer when
# emulated) 0.3 s to answer, where emulation alone makes them time out, and the sampler test whose power
# steps at a given moment (a starved emulated sampler can miss the step).
NOT_EMULATED_SENSORS=(test_sensors_tegrastats.py::test_tegrastats_that_goes_silent_is_unavailable_without_hanging
                      test_sensors_tegrastats.py::test_tegrastats_missing_or_silent_at_discovery
                      test_sensors_vcgencmd.py::test_vcgencmd_hanging_is_killed_at_the_timeout
                      test_sensors_sampler.py::test_idle_then_load_on_a_board_whose_power_steps)
DESELECT=()
for t in "${NOT_EMULATED[@]}"; do DESELECT+=(--deselect "tests/e2e/$t"); done
for t in "${NOT_EMULATED_SENSORS[@]}"; do DESELECT+=(--deselect "tests/sensors/$t"); done
TEST_TIMEOUT_S=${EDGEBENCH_AARCH64_TIMEOUT_S:-1500}  # one bound for each of the two lanes

say() { echo "test-aarch64: $*" >&2; }
die() { say "$*"; exit 1; }

# ------------------------------------------------------------------------------------------- clean-up

MOUNTED_BINFMT=0
ENABLED_BINFMT=0
LANES=()  # pids of the test lanes running (each a `timeout`, leading a process group of its own)
cleanup() {
  local rc=$? pid
  # Signal each lane's whole group. unshare --fork ignores TERM, and the rootfs's pid 1 ignores what it has
  # no handler for, so KILL follows; unshare's --kill-child then takes its whole pid namespace with it.
  for pid in ${LANES[@]+"${LANES[@]}"}; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in ${LANES[@]+"${LANES[@]}"}; do
    for _ in $(seq 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  [ -z "${LOGS:-}" ] || rm -rf "$LOGS"
  [ "$ENABLED_BINFMT" -eq 0 ] || update-binfmts --disable qemu-aarch64 >/dev/null 2>&1 || true
  [ "$MOUNTED_BINFMT" -eq 0 ] || umount /proc/sys/fs/binfmt_misc 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_lane() {  # $1: name; the rest: a command under `timeout`, run in the background (its output in a log)
  local name=$1
  shift
  "$@" >"$LOGS/$name.log" 2>&1 &
  LANES+=($!)
  LANE_PID[$name]=$!
}

finish_lane() {  # $1: name, $2: what it ran. Waits for it, prints its log; fails (after it) if it failed.
  local rc=0
  wait "${LANE_PID[$1]}" || rc=$?
  grep -v '^WARNING: Location' "$LOGS/$1.log" || true
  [ "$rc" -ne 5 ] || die "$2: pytest collected no tests"
  [ "$rc" -eq 0 ] || die "$2 failed (exit $rc, after $((SECONDS - t1)) s)"
}

# ------------------------------------------------------------------------------------------- machine

need_packages() {
  local missing=() p
  for p in qemu-user-static binfmt-support debootstrap; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  say "installed ${missing[*]}"
}

enable_binfmt() {  # qemu-aarch64 registered with flag F (its interpreter is opened now, so it works in chroots)
  local entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || return 1
    MOUNTED_BINFMT=1
  fi
  if [ ! -e "$entry" ]; then
    update-binfmts --import qemu-aarch64 >/dev/null 2>&1 || return 1
    ENABLED_BINFMT=1
  fi
  if ! grep -qx enabled "$entry"; then
    update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || return 1
    ENABLED_BINFMT=1
  fi
  grep -qx enabled "$entry" && grep -q '^flags: .*F' "$entry"
}

debian_mirror() {  # the Debian mirror apt already uses here
  local uri
  uri=$(grep -hs -m1 -E '^URIs: .*/debian/?$' /etc/apt/sources.list.d/*.sources | awk '{print $2}' || true)
  [ -n "$uri" ] || uri=$(grep -hs -m1 -E '^deb .*/debian/? ' /etc/apt/sources.list | awk '{print $2}' || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

# ------------------------------------------------------------------------------------------- the rootfs

build_rootfs() {  # $1: destination. Its text is part of the cache key: editing it rebuilds the rootfs.
  debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$1" "$(debian_mirror)" >"$1.log" 2>&1 || { tail -5 "$1.log" >&2; return 1; }
  mkdir -p "$1/etc/edgebench" "$1$BOARD_OPT"
  rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*
  rm -f "$1.log"
}

key_of() { sha256sum | cut -c1-16; }

prepare_rootfs() {  # prints the rootfs path
  local key dir
  key=$( { echo "$SUITE"; declare -f build_rootfs; } | key_of)
  dir=$CACHE/rootfs-$SUITE-$key
  if [ -f "$dir/.complete" ]; then
    say "rootfs: reusing $dir"
  else
    say "rootfs: building $dir (debootstrap arm64 $SUITE, minbase; a few minutes)"
    rm -rf "$dir" "$dir.part"
    mkdir -p "$dir.part"
    build_rootfs "$dir.part"
    touch "$dir.part/.complete"
    mv "$dir.part" "$dir"
    for old in "$CACHE"/rootfs-*; do  # a rootfs of an older recipe is never used again
      [ "$old" = "$dir" ] || rm -rf "$old"
    done
  fi
  echo "$dir"
}

# ------------------------------------------------------------------------------------------- environments

requirements() {  # pyproject.toml's requirements for the extras given, the project's own extras expanded
  "$HOST_PY" - "$@" <<'EOF'
import re
import sys
import tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
extras, out, seen = project.get("optional-dependencies", {}), list(project["dependencies"]), set()

def add(extra):
    if extra in seen:
        return
    seen.add(extra)
    for req in extras[extra]:
        own = re.fullmatch(re.escape(project["name"]) + r"\[([\w,-]+)\]", req.replace(" ", ""))
        for sub in own.group(1).split(",") if own else []:
            add(sub)
        if not own:
            out.append(req)

for extra in sys.argv[1:]:
    add(extra)
print("\n".join(out))
EOF
}

board_pip_args() {  # pip options that choose wheels for the board's Python, from the deploy's own platform list
  "$HOST_PY" - "$BOARD_FACTS" <<'EOF'
import sys

from edgebench.controller.deploy.wheels import BoardPython, platform_tags

machine, version, libc = sys.argv[1].split()
board = BoardPython(machine, version, libc)
major, minor = version.split(".")[:2]
args = ["--only-binary=:all:", "--python-version", f"{major}.{minor}", "--implementation", "cp",
        "--abi", board.tag, "--abi", "abi3", "--abi", "none"]
for tag in platform_tags(board):
    args += ["--platform", tag]
print("\n".join(args))
EOF
}

install_env() {  # $1: folder inside the rootfs; the rest: requirements. Its text is part of the env's key.
  local dir=$1 site pip_args
  shift
  rm -rf "${ROOTFS:?}$dir"
  "$EXEC" "$ROOTFS" python3 -m venv --without-pip "$dir"
  site=$(echo "$ROOTFS$dir"/lib/python3.*/site-packages)
  [ -d "$site" ] || die "python3 -m venv made no site-packages in $ROOTFS$dir"
  mapfile -t pip_args < <(board_pip_args)
  # --no-warn-conflicts: pip would compare with this machine's environment, not the board's.
  "$HOST_PY" -m pip install --quiet --disable-pip-version-check --no-warn-conflicts "${pip_args[@]}" \
    --target "$site" "$@" 2> >(grep -v '^WARNING: Location' >&2)
  echo "$BOARD_OPT/project" >"$site/edgebench-project.pth"  # this run's edgebench, installed by install_project
  touch "$ROOTFS$dir/.complete"
}

prepare_env() {  # $1: name; the rest: requirements. Prints the environment's folder inside the rootfs.
  local name=$1 key dir
  shift
  key=$( { echo "$ROOTFS $BOARD_FACTS"; printf '%s\n' "$@"; board_pip_args; declare -f install_env; } | key_of)
  dir=$BOARD_OPT/$name-$key
  if [ -f "$ROOTFS$dir/.complete" ]; then
    say "env $name: reusing $dir"
  else
    say "env $name: installing aarch64 wheels into $dir"
    install_env "$dir" "$@"
    for old in "$ROOTFS$BOARD_OPT/$name"-*; do
      [ "$old" = "$ROOTFS$dir" ] || rm -rf "$old"
    done
  fi
  echo "$dir"
}

install_project() {  # this checkout: its wheel (as deploy builds it) and its sources (the tests, the fixtures)
  local tmp
  tmp=$(mktemp -d)
  "$HOST_PY" -c 'import sys; from pathlib import Path
from edgebench.controller.deploy.wheels import build_wheel
print(build_wheel(Path(sys.argv[1])))' "$tmp" >"$tmp/wheel"
  rm -rf "$ROOTFS$BOARD_OPT/project" "$ROOTFS$BOARD_OPT/src"
  "$HOST_PY" -m pip install --quiet --disable-pip-version-check --no-deps --target "$ROOTFS$BOARD_OPT/project" \
    "$(cat "$tmp/wheel")" 2> >(grep -v '^WARNING: Location' >&2)
  rm -rf "$tmp"
  mkdir -p "$ROOTFS$BOARD_OPT/src"
  git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - \
    | tar -xf - -C "$ROOTFS$BOARD_OPT/src"
}

# ------------------------------------------------------------------------------------------- main

STAGE=${1:-all}
case "$STAGE" in
  all|prepare) [ $# -le 1 ] || die "usage: $0 [prepare | agent|host [PYTEST ARGS]]" ;;
  agent|host) ;;
  *) die "usage: $0 [prepare | agent|host [PYTEST ARGS]]" ;;
esac
PYTEST_ARGS=("${@:2}")
pytest_args() {  # $1: name of the default test list; extra options are added, tests named replace it
  local -n list=$1
  local a
  for a in ${PYTEST_ARGS[@]+"${PYTEST_ARGS[@]}"}; do
    case "$a" in tests/*) list=("${PYTEST_ARGS[@]}"); return ;; esac
  done
  list+=(${PYTEST_ARGS[@]+"${PYTEST_ARGS[@]}"})
}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mounts, network namespaces); nothing was tested"
[ -x "$HOST_PY" ] || die "no $HOST_PY: run ./scripts/test.sh (or make .venv) first"
need_packages
why="needs /proc/sys/fs/binfmt_misc and CAP_SYS_ADMIN"
enable_binfmt || die "cannot register qemu-aarch64 with binfmt_misc here ($why): the arm64 userland cannot run," \
  "nothing was tested"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9  # one build at a time in the cache

t0=$SECONDS
ROOTFS=$(prepare_rootfs)
machine=$("$EXEC" "$ROOTFS" uname -m) || die "the arm64 rootfs does not run under qemu-aarch64 ($ROOTFS)"
[ "$machine" = aarch64 ] || die "uname -m in the rootfs says '$machine', not aarch64"
BOARD_FACTS=$("$EXEC" "$ROOTFS" python3 -c \
  'import platform; print(platform.machine(), platform.python_version(), "-".join(platform.libc_ver()))')
say "board: $BOARD_FACTS"
mapfile -t test_reqs < <(requirements test)
TEST_ENV=$(prepare_env test "${test_reqs[@]}")
mapfile -t tflite_reqs < <("$HOST_PY" -c \
  'from tests.e2e.test_tflite_runtime_fallback import PACKAGES; print("\n".join(PACKAGES))')
TFLITE_ENV=$(prepare_env tflite "${tflite_reqs[@]}")
install_project
t_prepare=$((SECONDS - t0))
say "prepared in ${t_prepare} s: $ROOTFS"
flock -u 9
if [ "$STAGE" = prepare ]; then
  echo "$ROOTFS"
  exit 0
fi

# Emulation is CPU-bound and this machine has 2 cores: two lanes at once, each pytest in its own process (the
# emulated ones in their own pid namespace): lane 1 the first half of the agent's tests, lane 2 the native
# controller's tests, then the second half. Each lane's output is printed when it ends.
declare -A LANE_PID
LOGS=$(mktemp -d)
emulated_pytest() {  # the agent's tests given, in the rootfs
  nice -n 10 "$EXEC" --pid -C "$BOARD_OPT/src" -e EDGEBENCH_EMULATED=qemu-aarch64 \
    -e "EDGEBENCH_TFLITE_RUNTIME_PYTHON=$TFLITE_ENV/bin/python" \
    "$ROOTFS" "$TEST_ENV/bin/python" -m pytest -p no:cacheprovider --timeout 900 --durations=5 "$@"
}
native_pytest() {  # tests/aarch64 (or the tests given), here, against agents in the rootfs
  EDGEBENCH_AARCH64_ROOTFS=$ROOTFS EDGEBENCH_AARCH64_PYTHON=$TEST_ENV/bin/python \
    nice -n 10 "$HOST_PY" -m pytest -p no:cacheprovider --timeout 900 --durations=5 "$@"
}
export -f emulated_pytest native_pytest
export EXEC BOARD_OPT TFLITE_ENV ROOTFS TEST_ENV HOST_PY
agent_a=("${AGENT_TESTS_A[@]}" "${DESELECT[@]}") agent_b=("${AGENT_TESTS_B[@]}" "${DESELECT[@]}")
host=(tests/aarch64)
case "$STAGE" in
  agent) agent_a=("${AGENT_TESTS_A[@]}" "${AGENT_TESTS_B[@]}" "${DESELECT[@]}"); pytest_args agent_a ;;
  host) pytest_args host; agent_b=() ;;
esac
t1=$SECONDS
# Each lane is one `timeout` (the leader of a process group that cleanup() signals) over one shell.
if [ "$STAGE" != host ]; then
  say "lane 1, the agent's tests inside the rootfs (emulated): ${agent_a[*]}"
  start_lane agent-a timeout --kill-after=30 "$TEST_TIMEOUT_S" bash -c 'emulated_pytest "$@"' lane1 "${agent_a[@]}"
fi
if [ "$STAGE" != agent ]; then
  say "lane 2, the native controller against agents in the rootfs: ${host[*]}"
  [ ${#agent_b[@]} -eq 0 ] || say "lane 2, then the agent's tests inside the rootfs (emulated): ${agent_b[*]}"
  # shellcheck disable=SC2016  # expanded by the lane's shell
  start_lane lane-2 timeout --kill-after=30 "$TEST_TIMEOUT_S" bash -c \
    'n=$1; shift; native_pytest "${@:1:n}" || exit; [ $# -eq "$n" ] || emulated_pytest "${@:n+1}"' \
    lane2 "${#host[@]}" "${host[@]}" ${agent_b[@]+"${agent_b[@]}"}
fi
[ "$STAGE" = host ] || finish_lane agent-a "lane 1 (the agent's tests in the rootfs)"
[ "$STAGE" = agent ] || finish_lane lane-2 "lane 2 (tests/aarch64, then the rest of the agent's tests)"
say "passed: prepare ${t_prepare} s, tests $((SECONDS - t1)) s; total $((SECONDS - t0)) s"
