#!/bin/sh
# install-agent.sh: install the edgebench agent on this board and keep it running as a service.
# `controller deploy` runs this same script over SSH; by hand on a board it gives the same result:
#
#   sh install-agent.sh                         # edgebench[agent] from the package index
#   sh install-agent.sh --wheel edgebench-0.1.0-py3-none-any.whl [--find-links DIR --offline]
#   sh install-agent.sh --upgrade               # replace the installed agent (even by the same version)
#   sh install-agent.sh --uninstall [--purge]   # stop and remove it (--purge: the model cache and results too)
#   sh install-agent.sh --help                  # every option
#
# Then, on the host: `controller targets add USER@BOARD --fetch-token` (or copy PREFIX/agent.token there).
#
# Layout (PREFIX: ~/.local/share/edgebench; STATE: ~/.local/state/edgebench):
#   PREFIX/venvs/ID/      one virtual environment per install; a finished one holds a .complete file
#   PREFIX/current        symlink to the live environment, switched by one rename once it is complete
#   PREFIX/agent.token    the token every call must carry (0600); made here unless --token-file gives one
#   PREFIX/agent.env      the agent's arguments, read by the service
#   PREFIX/wheelhouse/    wheels for --offline installs (controller deploy copies them here)
#   STATE                 the agent's model cache and job results
# An install cut off half-way leaves an unfinished environment, removed by the next run; `current` still
# points at the previous complete one (or at nothing), so a half-installed agent never runs.
# Service: a systemd system unit (as root, or with passwordless sudo), else a systemd user unit, else
# (no systemd: a container, a test host) a detached process with a pid file, PREFIX/agent.pid.
# Lines starting with "EDGEBENCH " are read by controller deploy.
# Exit status: 0 done, 2 usage, 3 no usable Python, 4 not enough space, 5 install failed,
# 6 the agent did not start, 7 another version is installed (use --upgrade), 8 cannot manage the service.
set -eu
umask 077

if [ -z "${HOME:-}" ]; then HOME=$(getent passwd "$(id -un)" | cut -d: -f6); export HOME; fi
PREFIX="$HOME/.local/share/edgebench"
STATE_DIR="$HOME/.local/state/edgebench"
PYTHON=python3
WHEEL=""
FIND_LINKS=""
OFFLINE=0
SYSTEM_SITE=0
UPGRADE=0
LISTEN="0.0.0.0:47311"
TOKEN_FILE=""
TLS_CERT=""
TLS_KEY=""
TLS_CLIENT_CA=""
SERVICE=auto
ACTION=install
PURGE=0
SPEC="edgebench[agent]"
AGENT_ARGS=""
WAIT_S=60
MIN_FREE_MB=""
SERVICE_NAME=edgebench-agent
UNIT_USER=""

say() { printf 'install-agent: %s\n' "$*"; }
report() { printf 'EDGEBENCH %s\n' "$*"; }
die() {
    code=$1
    shift
    printf 'install-agent: error: %s\n' "$*" >&2
    report "error=$code"
    exit "$code"
}

usage() {
    cat <<'EOF'
usage: install-agent.sh [options]
  --wheel FILE             install this edgebench wheel (default: edgebench[agent] from the package index)
  --find-links DIR         also look for wheels in DIR
  --offline                install from --find-links only (no package index)
  --system-site-packages   let the agent see system packages (a Jetson's onnxruntime-gpu); runtimes already
                           importable there are not installed again
  --upgrade                reinstall even when an agent is installed
  --python PYTHON          interpreter for the virtual environment (default python3)
  --prefix DIR             where the agent is installed (default ~/.local/share/edgebench)
  --state-dir DIR          the agent's model cache and results (default ~/.local/state/edgebench)
  --listen HOST:PORT       the agent's address (default 0.0.0.0:47311)
  --token-file FILE        use this token (default: keep the installed one, or make one)
  --tls-cert PEM --tls-key PEM [--tls-client-ca PEM]
                           serve TLS (mutual TLS with a client CA); the files are copied into PREFIX/tls
  --agent-args "ARGS"      more edgebench-agent options, e.g. "--max-model-mb 256 --sample-rate 5"
  --service auto|systemd-system|systemd-user|detached|none
  --wait SECONDS           how long to wait for the agent to listen (default 60)
  --min-free-mb MB         free space to insist on before installing (default: estimated)
  --uninstall [--purge]    stop and remove the agent (--purge: the state directory too)
  --probe                  print what controller deploy needs to know about this board, change nothing
  --service-for USER       (root) run USER's install in --prefix as a system service (first boot does this)
  --print-unit             print the systemd unit template
EOF
}

need_value() { [ "$1" -ge 2 ] || die 2 "$2 needs a value"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --wheel) need_value $# "$1"; WHEEL=$2; shift 2 ;;
        --find-links) need_value $# "$1"; FIND_LINKS=$2; shift 2 ;;
        --offline) OFFLINE=1; shift ;;
        --system-site-packages) SYSTEM_SITE=1; shift ;;
        --upgrade) UPGRADE=1; shift ;;
        --python) need_value $# "$1"; PYTHON=$2; shift 2 ;;
        --prefix) need_value $# "$1"; PREFIX=$2; shift 2 ;;
        --state-dir) need_value $# "$1"; STATE_DIR=$2; shift 2 ;;
        --listen) need_value $# "$1"; LISTEN=$2; shift 2 ;;
        --token-file) need_value $# "$1"; TOKEN_FILE=$2; shift 2 ;;
        --tls-cert) need_value $# "$1"; TLS_CERT=$2; shift 2 ;;
        --tls-key) need_value $# "$1"; TLS_KEY=$2; shift 2 ;;
        --tls-client-ca) need_value $# "$1"; TLS_CLIENT_CA=$2; shift 2 ;;
        --agent-args) need_value $# "$1"; AGENT_ARGS=$2; shift 2 ;;
        --service) need_value $# "$1"; SERVICE=$2; shift 2 ;;
        --wait) need_value $# "$1"; WAIT_S=$2; shift 2 ;;
        --min-free-mb) need_value $# "$1"; MIN_FREE_MB=$2; shift 2 ;;
        --spec) need_value $# "$1"; SPEC=$2; shift 2 ;;
        --uninstall) ACTION=uninstall; shift ;;
        --purge) PURGE=1; shift ;;
        --probe) ACTION=probe; shift ;;
        --print-unit) ACTION=print-unit; shift ;;
        --service-for) need_value $# "$1"; ACTION=service-for; UNIT_USER=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die 2 "unknown option $1" ;;
    esac
done
case "$SERVICE" in auto|systemd-system|systemd-user|detached|none) ;; *) die 2 "unknown --service $SERVICE" ;; esac
case "$PREFIX" in /*) ;; *) die 2 "--prefix must be an absolute path, got $PREFIX" ;; esac
case "$STATE_DIR" in /*) ;; *) die 2 "--state-dir must be an absolute path, got $STATE_DIR" ;; esac
[ -z "$TLS_CERT" ] || [ -n "$TLS_KEY" ] || die 2 "--tls-cert needs --tls-key"
[ -n "$TLS_CERT" ] || [ -z "$TLS_KEY$TLS_CLIENT_CA" ] || die 2 "--tls-key and --tls-client-ca need --tls-cert"
[ "$OFFLINE" = 0 ] || [ -n "$FIND_LINKS" ] || die 2 "--offline needs --find-links DIR (a wheelhouse)"

# ---------------------------------------------------------------------------------------------- unit file
unit_template() {
    cat <<'EOF'
# The edgebench agent as a systemd service.
# scripts/install-agent.sh (and `controller deploy`) fill in the @...@ fields and install it as
# /etc/systemd/system/edgebench-agent.service; without root or sudo, as a user unit (no User= line, and
# WantedBy=default.target). By hand: replace @PREFIX@ (the install, e.g. /home/pi/.local/share/edgebench)
# and @USER@, copy it there, then `sudo systemctl daemon-reload && sudo systemctl enable --now edgebench-agent`.
[Unit]
Description=edgebench agent: runs models for the edgebench controller and measures them
Documentation=https://github.com/edgebench/edgebench#put-the-agent-on-a-board
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=@USER@
# The agent's arguments (listen address, state dir, token file, TLS files), written by install-agent.sh.
EnvironmentFile=@PREFIX@/agent.env
ExecStart=@PREFIX@/current/bin/edgebench-agent $EDGEBENCH_AGENT_ARGS
Restart=on-failure
RestartSec=5
# The agent and the worker process of a running job stop together.
KillMode=control-group
TimeoutStopSec=30
NoNewPrivileges=yes

[Install]
WantedBy=multi-user.target
EOF
}

render_unit() {  # $1: system or user
    if [ "$1" = system ]; then
        unit_template | sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@USER@|${UNIT_USER:-$(id -un)}|g"
    else
        unit_template | sed -e "s|@PREFIX@|$PREFIX|g" -e '/^User=/d' -e 's|^WantedBy=.*|WantedBy=default.target|'
    fi
}

# ---------------------------------------------------------------------------------------------- helpers
free_mb() { df -Pk "$1" 2>/dev/null | awk 'NR==2 {print int($4 / 1024)}'; }

python_ok() { command -v "$PYTHON" >/dev/null 2>&1; }

check_python() {
    python_ok || die 3 "no '$PYTHON' on this board's PATH ($PATH): install Python 3.10 or newer with venv \
(sudo apt install python3 python3-venv), or pass --python /path/to/python3"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
        die 3 "$PYTHON is Python $("$PYTHON" -c 'import platform; print(platform.python_version())'); \
the agent needs 3.10 or newer (pass --python)"
    "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 ||
        die 3 "$PYTHON cannot create virtual environments (no venv/ensurepip module): sudo apt install python3-venv"
}

take_lock() {
    mkdir -p "$PREFIX"
    exec 9>>"$PREFIX/.lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w 300 9 || die 5 "another install into $PREFIX has held its lock for 5 minutes"
    fi
}

installed_version() {  # the version of the complete install `current` points at, or nothing
    if [ -f "$PREFIX/current/.complete" ] && "$PREFIX/current/bin/edgebench-agent" --version >/dev/null 2>&1; then
        sed -n 's/^version=//p' "$PREFIX/current/.complete"
    fi
}

installed_flag() { sed -n "s/^$1=//p" "$PREFIX/current/.complete" 2>/dev/null || true; }

pid_of_detached() {  # the pid in agent.pid if that process is still our agent
    [ -f "$PREFIX/agent.pid" ] || return 1
    pid=$(cat "$PREFIX/agent.pid" 2>/dev/null || true)
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\000' ' ' <"/proc/$pid/cmdline" | grep -q 'edgebench-agent' || return 1
    echo "$pid"
}

stop_detached() {
    pid=$(pid_of_detached) || { rm -f "$PREFIX/agent.pid"; return 0; }
    say "stopping the agent (pid $pid)"
    kill "$pid" 2>/dev/null || true
    i=0
    while [ $i -lt 60 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.5; i=$((i + 1)); done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$PREFIX/agent.pid"
}

start_detached() {
    # shellcheck disable=SC1091
    . "$PREFIX/agent.env"
    log="$PREFIX/agent.log"
    if [ -f "$log" ] && [ "$(wc -c <"$log")" -gt 5000000 ]; then mv -f "$log" "$log.1"; fi
    launcher=""
    if command -v setsid >/dev/null 2>&1; then launcher=setsid; fi
    # A session of its own, no terminal, no inherited lock: it outlives this SSH login.
    # shellcheck disable=SC2086
    nohup $launcher "$PREFIX/current/bin/edgebench-agent" $EDGEBENCH_AGENT_ARGS >>"$log" 2>&1 </dev/null 9>&- &
    echo $! >"$PREFIX/agent.pid"
}

choose_service() {
    SUDO=""
    [ "$SERVICE" = auto ] || return 0
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then
            SERVICE=systemd-system
        elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            SERVICE=systemd-system
            SUDO="sudo -n"
        elif systemctl --user show-environment >/dev/null 2>&1; then
            SERVICE=systemd-user
        else
            SERVICE=detached
            say "systemd runs here, but $(id -un) has neither passwordless sudo nor a user service manager:"
            say "starting the agent as a detached process instead (it will not come back after a reboot)"
        fi
    else
        SERVICE=detached
        say "no systemd on this board (a container or a test host?): starting the agent as a detached process"
        say "with a pid file ($PREFIX/agent.pid) instead of a service; it will not come back after a reboot"
    fi
}

system_unit_path=/etc/systemd/system/$SERVICE_NAME.service
user_unit_path() { echo "${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/$SERVICE_NAME.service"; }

# Installs or updates the unit; sets RESTART=1 when it changed.
install_unit() {
    if [ "$SERVICE" = systemd-system ]; then
        render_unit system >"$PREFIX/$SERVICE_NAME.service"
        if ! cmp -s "$PREFIX/$SERVICE_NAME.service" "$system_unit_path"; then
            $SUDO install -m 0644 "$PREFIX/$SERVICE_NAME.service" "$system_unit_path" ||
                die 8 "cannot install $system_unit_path"
            $SUDO systemctl daemon-reload
            RESTART=1
        fi
        $SUDO systemctl enable "$SERVICE_NAME" >/dev/null 2>&1 || die 8 "systemctl enable $SERVICE_NAME failed"
    else
        unit=$(user_unit_path)
        mkdir -p "$(dirname "$unit")"
        render_unit user >"$PREFIX/$SERVICE_NAME.service"
        if ! cmp -s "$PREFIX/$SERVICE_NAME.service" "$unit"; then
            cp "$PREFIX/$SERVICE_NAME.service" "$unit"
            chmod 644 "$unit"
            systemctl --user daemon-reload
            RESTART=1
        fi
        systemctl --user enable "$SERVICE_NAME" >/dev/null 2>&1 || die 8 "systemctl --user enable $SERVICE_NAME failed"
        loginctl enable-linger "$(id -un)" >/dev/null 2>&1 ||
            say "warning: could not enable lingering: the agent stops when $(id -un) logs out" >&2
    fi
}

systemctl_for() { if [ "$SERVICE" = systemd-user ]; then echo "systemctl --user"; else echo "$SUDO systemctl"; fi; }

agent_log_tail() {
    case "$SERVICE" in
        systemd-system) $SUDO journalctl -u "$SERVICE_NAME" -n 20 --no-pager 2>/dev/null || true ;;
        systemd-user) journalctl --user -u "$SERVICE_NAME" -n 20 --no-pager 2>/dev/null || true ;;
        *) tail -n 20 "$PREFIX/agent.log" 2>/dev/null || true ;;
    esac
}

wait_listening() {  # until the agent's port takes connections; $1: the agent's pid, if known (gives up when it dies)
    port=${LISTEN##*:}
    host=${LISTEN%:*}
    case "$host" in 0.0.0.0|"["*"::]"|"") host=127.0.0.1 ;; esac
    "$PREFIX/current/bin/python" - "$host" "$port" "$WAIT_S" "${1:-}" <<'EOF'
import os, socket, sys, time
host, port, wait, pid = sys.argv[1].strip("[]"), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
deadline = time.monotonic() + wait
while time.monotonic() < deadline:
    if pid and not os.path.exists(f"/proc/{pid}"):
        sys.exit(1)
    try:
        socket.create_connection((host, port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.3)
sys.exit(1)
EOF
}

# ---------------------------------------------------------------------------------------------- actions
probe() {
    mkdir -p "$PREFIX/wheelhouse" "$PREFIX/incoming"
    report "prefix=$PREFIX"
    report "state_dir=$STATE_DIR"
    report "user=$(id -un)"
    report "machine=$(uname -m)"
    report "free_mb=$(free_mb "$PREFIX")"
    if [ -d /run/systemd/system ]; then report "systemd=1"; else report "systemd=0"; fi
    if python_ok; then
        "$PYTHON" - "$PREFIX/wheelhouse" <<'EOF' || report "python=broken"
import hashlib, os, platform, sys
v = sys.version_info
print(f"EDGEBENCH python={v[0]}.{v[1]}.{v[2]}")
print(f"EDGEBENCH python_path={sys.executable}")
print(f"EDGEBENCH implementation={sys.implementation.name}")
libc, libc_version = platform.libc_ver()
print(f"EDGEBENCH libc={libc or 'unknown'}-{libc_version or '0'}")
try:
    import ensurepip, venv  # noqa: F401
    print("EDGEBENCH venv=1")
except ImportError:
    print("EDGEBENCH venv=0")
wheelhouse = sys.argv[1]
for name in sorted(os.listdir(wheelhouse)):
    if name.endswith(".whl"):
        digest = hashlib.sha256()
        with open(os.path.join(wheelhouse, name), "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        print(f"EDGEBENCH have={digest.hexdigest()} {name}")
EOF
    else
        report "python=none"
    fi
    version=$(installed_version)
    report "installed=${version:-none}"
    if [ -n "$version" ]; then report "installed_system_site_packages=$(installed_flag system_site_packages)"; fi
}

verify_wheelhouse() {  # check SHA256SUMS: a wheel cut off by an interrupted copy is removed, never installed
    [ -n "$FIND_LINKS" ] && [ -f "$FIND_LINKS/SHA256SUMS" ] || return 0
    "$PYTHON" - "$FIND_LINKS" <<'EOF' || die 5 "wheels arrived damaged or incomplete (removed): deploy again"
import hashlib, os, sys
folder = sys.argv[1]
bad = []
listed = set()
for line in open(os.path.join(folder, "SHA256SUMS")):
    if not line.strip():
        continue
    want, name = line.split(None, 1)
    name = os.path.basename(name.strip().lstrip("*"))
    listed.add(name)
    path = os.path.join(folder, name)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        bad.append(name)
        continue
    if digest.hexdigest() != want:
        bad.append(name)
        os.remove(path)
for name in os.listdir(folder):  # wheels of earlier deploys that this one no longer needs
    if name.endswith(".whl") and name not in listed:
        os.remove(os.path.join(folder, name))
if bad:
    print("install-agent: damaged or missing wheels: " + ", ".join(bad), file=sys.stderr)
    sys.exit(1)
EOF
}

remove_unfinished() {
    live=$(readlink "$PREFIX/current" 2>/dev/null || true)
    for d in "$PREFIX"/venvs/*; do
        [ -d "$d" ] || continue
        [ "venvs/${d##*/}" = "$live" ] && continue
        if [ ! -f "$d/.complete" ]; then
            say "removing an unfinished install left by an interrupted run: $d"
            rm -rf "$d"
        fi
    done
    rm -f "$PREFIX"/.current.*
}

remove_old() {
    live=$(readlink "$PREFIX/current" 2>/dev/null || true)
    for d in "$PREFIX"/venvs/*; do
        [ -d "$d" ] || continue
        [ "venvs/${d##*/}" = "$live" ] || rm -rf "$d"
    done
}

build_venv() {
    id=$(date +%Y%m%d-%H%M%S)-$$
    venv="$PREFIX/venvs/$id"
    log="$PREFIX/install.log"
    : >"$log"
    flag=""
    [ "$SYSTEM_SITE" = 0 ] || flag=--system-site-packages
    say "creating a virtual environment: $venv"
    # shellcheck disable=SC2086
    if ! "$PYTHON" -m venv $flag "$venv" >>"$log" 2>&1; then install_failed "$venv" "$log" "$PYTHON -m venv"; fi
    pip="$venv/bin/python -m pip --disable-pip-version-check --no-input --no-cache-dir"
    source_flags=""
    [ -z "$FIND_LINKS" ] || source_flags="--find-links $FIND_LINKS"
    [ "$OFFLINE" = 0 ] || source_flags="--no-index $source_flags"
    if [ -n "$WHEEL" ]; then what=$WHEEL; else what=$SPEC; fi
    if [ "$SYSTEM_SITE" = 1 ]; then
        # Use the runtimes the system already has (a Jetson's onnxruntime-gpu); install only the missing ones.
        base=${what%\[*\]}
        extra=""
        "$venv/bin/python" -c 'import onnxruntime' 2>/dev/null || extra="$extra onnxruntime"
        "$venv/bin/python" -c 'import ai_edge_litert' 2>/dev/null ||
            "$venv/bin/python" -c 'import tflite_runtime' 2>/dev/null || extra="$extra ai-edge-litert"
        say "installing $base$extra (system site packages visible)"
        # shellcheck disable=SC2086
        $pip install $source_flags "$base" $extra >>"$log" 2>&1 || install_failed "$venv" "$log" "pip install"
    else
        case "$what" in *.whl) what="$what[agent]" ;; esac
        note=""
        [ "$OFFLINE" = 0 ] || note=" offline, from $FIND_LINKS"
        say "installing $what$note"
        # shellcheck disable=SC2086
        $pip install $source_flags "$what" >>"$log" 2>&1 || install_failed "$venv" "$log" "pip install"
    fi
    version=$("$venv/bin/edgebench-agent" --version 2>>"$log" | awk '{print $2}') ||
        install_failed "$venv" "$log" "edgebench-agent --version"
    [ -n "$version" ] || install_failed "$venv" "$log" "edgebench-agent --version"
    printf 'version=%s\nsystem_site_packages=%s\ninstalled_unix_s=%s\n' "$version" "$SYSTEM_SITE" "$(date +%s)" \
        >"$venv/.complete.tmp"
    mv -f "$venv/.complete.tmp" "$venv/.complete"
    # The switch is one rename of a symlink: `current` is the old install or the new one, never half of one.
    ln -s "venvs/$id" "$PREFIX/.current.$$"
    "$venv/bin/python" -c 'import os, sys; os.replace(sys.argv[1], sys.argv[2])' "$PREFIX/.current.$$" \
        "$PREFIX/current"
    say "installed edgebench-agent $version"
    INSTALLED_NOW=1
}

install_failed() {  # $1 venv, $2 log, $3 step
    free=$(free_mb "$PREFIX")
    if grep -q "No space left on device" "$2" 2>/dev/null || [ "${free:-0}" -lt 5 ]; then
        rm -rf "$1"
        die 4 "the board ran out of space in $PREFIX while installing ($3; ${free:-?} MB free now): free some \
space or install elsewhere (--prefix); the unfinished environment was removed"
    fi
    tail -n 15 "$2" >&2 || true
    rm -rf "$1"
    die 5 "$3 failed (the lines above; the whole log is $2); the unfinished environment was removed"
}

install_file() {  # $1 source, $2 destination: copied 0600; sets RESTART=1 when the content changed
    [ -f "$1" ] || die 2 "no such file: $1"
    if [ "$1" != "$2" ] && ! cmp -s "$1" "$2"; then
        cp "$1" "$2.new"
        chmod 600 "$2.new"
        mv -f "$2.new" "$2"
        RESTART=1
    fi
}

install() {
    take_lock
    check_python
    mkdir -p "$PREFIX/venvs" "$STATE_DIR"
    remove_unfinished
    if [ -n "$MIN_FREE_MB" ]; then
        need=$MIN_FREE_MB
    elif [ "$OFFLINE" = 1 ]; then
        need=$(($(du -sk "$FIND_LINKS" | awk '{print $1}') * 4 / 1024 + 30))
    else
        need=400
    fi
    free=$(free_mb "$PREFIX")
    INSTALLED_NOW=0
    current=$(installed_version)
    want=""
    if [ -n "$WHEEL" ]; then want=$(basename "$WHEEL" | cut -d- -f2); fi
    if [ -z "$current" ]; then
        if [ -e "$PREFIX/current" ] || [ -L "$PREFIX/current" ]; then
            say "the installed agent in $PREFIX is incomplete or broken: installing it again"
        fi
        do_install=1
    elif [ "$UPGRADE" = 1 ]; then
        do_install=1
    elif [ -n "$want" ] && [ "$want" != "$current" ]; then
        die 7 "edgebench-agent $current is installed in $PREFIX, not $want: run again with --upgrade to replace it"
    elif [ "$(installed_flag system_site_packages)" != "$SYSTEM_SITE" ]; then
        die 7 "the installed agent was made with system_site_packages=$(installed_flag system_site_packages): run \
again with --upgrade to rebuild it"
    else
        do_install=0
        say "edgebench-agent $current is already installed in $PREFIX (--upgrade reinstalls it)"
    fi
    if [ "$do_install" = 1 ]; then
        [ "${free:-0}" -ge "$need" ] || die 4 "not enough space in $PREFIX: $free MB free, the agent needs about \
$need MB: free some space or install elsewhere (--prefix)"
        verify_wheelhouse
        build_venv
    fi

    RESTART=$INSTALLED_NOW
    token="$PREFIX/agent.token"
    if [ -n "$TOKEN_FILE" ]; then
        install_file "$TOKEN_FILE" "$token"
    elif [ ! -s "$token" ]; then
        "$PREFIX/current/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$token.new"
        mv -f "$token.new" "$token"
        say "made a new token: $token"
        RESTART=1
    fi
    tls_args=""
    if [ -n "$TLS_CERT" ]; then
        mkdir -p "$PREFIX/tls"
        install_file "$TLS_CERT" "$PREFIX/tls/agent.crt"
        install_file "$TLS_KEY" "$PREFIX/tls/agent.key"
        tls_args="--tls-cert $PREFIX/tls/agent.crt --tls-key $PREFIX/tls/agent.key"
        if [ -n "$TLS_CLIENT_CA" ]; then
            install_file "$TLS_CLIENT_CA" "$PREFIX/tls/client-ca.crt"
            tls_args="$tls_args --tls-client-ca $PREFIX/tls/client-ca.crt"
        fi
    else
        rm -rf "$PREFIX/tls"
    fi
    args="--listen $LISTEN --state-dir $STATE_DIR --token-file $token${tls_args:+ $tls_args}${AGENT_ARGS:+ $AGENT_ARGS}"
    printf '# Written by install-agent.sh: the arguments of edgebench-agent.\nEDGEBENCH_AGENT_ARGS="%s"\n' "$args" \
        >"$PREFIX/agent.env.new"
    if cmp -s "$PREFIX/agent.env.new" "$PREFIX/agent.env"; then
        rm -f "$PREFIX/agent.env.new"
    else
        mv -f "$PREFIX/agent.env.new" "$PREFIX/agent.env"
        RESTART=1
    fi

    choose_service
    start_service
    remove_old
    rm -rf "$PREFIX/incoming"
    version=$(installed_version)
    say "edgebench-agent $version on $LISTEN, service: $SERVICE, token: $token"
    report "installed=$version"
    report "action=$([ "$INSTALLED_NOW" = 1 ] && echo installed || echo kept)"
    report "restarted=$RESTART"
    report "service=$SERVICE"
    report "prefix=$PREFIX"
    report "token_file=$token"
    report "listen=$LISTEN"
    if [ -t 1 ] || [ -z "${SSH_CONNECTION:-}" ]; then
        say "on the host: controller targets add $(id -un)@$(hostname) --fetch-token"
    fi
}

start_service() {  # (re)start the agent as $SERVICE says, then wait until it listens
    case "$SERVICE" in
        systemd-system|systemd-user)
            stop_detached
            install_unit
            ctl=$(systemctl_for)
            if [ "$RESTART" = 1 ]; then $ctl restart "$SERVICE_NAME"; else $ctl start "$SERVICE_NAME"; fi
            ;;
        detached)
            if [ "$RESTART" = 1 ] || ! pid_of_detached >/dev/null; then
                stop_detached
                start_detached
            else
                say "the agent is running (pid $(pid_of_detached)) with this install and configuration: left as is"
            fi
            ;;
        none) say "not starting the agent (--service none)" ;;
    esac
    if [ "$SERVICE" != none ]; then
        started=1
        wait_listening "$(pid_of_detached || true)" || started=0
        case "$SERVICE" in
            detached) pid_of_detached >/dev/null || started=0 ;;
            *) $(systemctl_for) is-active --quiet "$SERVICE_NAME" || started=0 ;;
        esac
        if [ "$started" = 0 ]; then
            agent_log_tail >&2
            die 6 "the agent did not start listening on $LISTEN within $WAIT_S s (its log is above)"
        fi
    fi
}

service_for() {  # as root: run the install that UNIT_USER made in PREFIX as a system service, as UNIT_USER
    [ "$(id -u)" = 0 ] || die 2 "--service-for needs root"
    getent passwd "$UNIT_USER" >/dev/null || die 2 "no user $UNIT_USER"
    [ -n "$(installed_version)" ] || die 5 "no complete install in $PREFIX"
    [ -d /run/systemd/system ] || die 8 "--service-for installs a systemd unit, and this system runs no systemd"
    # shellcheck disable=SC1091
    . "$PREFIX/agent.env"
    LISTEN=$(printf '%s\n' "$EDGEBENCH_AGENT_ARGS" | sed -n 's/.*--listen \([^ ]*\).*/\1/p')
    SERVICE=systemd-system
    SUDO=""
    RESTART=1
    start_service
    say "edgebench-agent $(installed_version) runs as $UNIT_USER, service $SERVICE_NAME, on $LISTEN"
    report "service=$SERVICE"
}

uninstall() {
    if [ ! -d "$PREFIX" ] && [ ! -f "$system_unit_path" ] && [ ! -f "$(user_unit_path)" ]; then
        say "nothing installed in $PREFIX"
        report "uninstalled=none"
        return 0
    fi
    [ ! -d "$PREFIX" ] || take_lock
    if [ -f "$system_unit_path" ]; then
        SUDO=""
        if [ "$(id -u)" != 0 ]; then
            command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null ||
                die 8 "removing $system_unit_path needs root or passwordless sudo"
            SUDO="sudo -n"
        fi
        $SUDO systemctl disable --now "$SERVICE_NAME" >/dev/null 2>&1 || true
        $SUDO rm -f "$system_unit_path"
        $SUDO systemctl daemon-reload || true
        say "removed the system service $SERVICE_NAME"
    fi
    if [ -f "$(user_unit_path)" ]; then
        systemctl --user disable --now "$SERVICE_NAME" >/dev/null 2>&1 || true
        rm -f "$(user_unit_path)"
        systemctl --user daemon-reload >/dev/null 2>&1 || true
        say "removed the user service $SERVICE_NAME"
    fi
    if [ -d "$PREFIX" ]; then
        stop_detached
        # Only what this script makes: a --prefix that points somewhere shared loses nothing else.
        rm -rf "$PREFIX/venvs" "$PREFIX/current" "$PREFIX"/.current.* "$PREFIX/wheelhouse" "$PREFIX/incoming" \
            "$PREFIX/tls" "$PREFIX/agent.token" "$PREFIX/agent.env" "$PREFIX/agent.env.new" "$PREFIX/agent.pid" \
            "$PREFIX/agent.log" "$PREFIX/agent.log.1" "$PREFIX/install.log" "$PREFIX/$SERVICE_NAME.service" \
            "$PREFIX/.lock"
        rmdir "$PREFIX" 2>/dev/null || say "left $PREFIX: it holds files this script did not make"
        say "removed the agent from $PREFIX"
    fi
    if [ "$PURGE" = 1 ]; then
        rm -rf "$STATE_DIR"
        say "removed the state directory $STATE_DIR"
    fi
    report "uninstalled=yes"
}

case "$ACTION" in
    install) install ;;
    uninstall) uninstall ;;
    probe) probe ;;
    print-unit) unit_template ;;
    service-for) service_for ;;
esac
