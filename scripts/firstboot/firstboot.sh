#!/bin/sh
# edgebench first boot: install the agent on a freshly written SD card, once, and start it as a service.
# Runs as root from the boot partition (/boot/firmware/edgebench/), started by cloud-init's runcmd or by the
# edgebench-firstboot.service unit that firstrun.sh enables (see scripts/firstboot/prepare_sd.py).
#
#   sh firstboot.sh [USER]     USER: who the agent runs as (default: the first user with a uid from 1000)
#
# What this folder may hold (prepare_sd.py puts it there): install-agent.sh, edgebench-*.whl, wheelhouse/
# (then the install is offline), agent.token (the token the host already knows), agent-args (more options).
# The log goes to /var/log/edgebench-firstboot.log; "installed" is written here when done, and the token is
# removed from the boot partition (it stays, 0600, in the user's install).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
LOG=${EDGEBENCH_FIRSTBOOT_LOG:-/var/log/edgebench-firstboot.log}
exec >>"$LOG" 2>&1
echo "edgebench firstboot: $(date)"
[ "$(id -u)" = 0 ] || { echo "edgebench firstboot: run me as root"; exit 2; }
if [ -f "$HERE/installed" ]; then echo "edgebench firstboot: already done ($HERE/installed)"; exit 0; fi

RUN_AS=${1:-}
[ -n "$RUN_AS" ] || RUN_AS=$(awk -F: '$3 >= 1000 && $3 < 60000 { print $1; exit }' /etc/passwd)
[ -n "$RUN_AS" ] || { echo "edgebench firstboot: no user to run the agent as (pass one)"; exit 2; }
RUN_HOME=$(getent passwd "$RUN_AS" | cut -d: -f6)

set --
wheel=$(ls "$HERE"/edgebench-*.whl 2>/dev/null | tail -n 1 || true)
[ -z "$wheel" ] || set -- "$@" --wheel "$wheel"
if [ -d "$HERE/wheelhouse" ]; then
    set -- "$@" --offline --find-links "$HERE/wheelhouse"
else
    # From the package index: wait for the network (bounded: 10 minutes).
    i=0
    until getent hosts pypi.org >/dev/null 2>&1 || [ $i -ge 120 ]; do sleep 5; i=$((i + 1)); done
fi
[ ! -f "$HERE/agent.token" ] || set -- "$@" --token-file "$HERE/agent.token"
[ ! -f "$HERE/agent-args" ] || set -- "$@" --agent-args "$(cat "$HERE/agent-args")"

as_user() { runuser -u "$RUN_AS" -- env HOME="$RUN_HOME" "$@"; }
if [ -d /run/systemd/system ]; then
    # The user installs (venv, token, arguments) in their home; root adds the system service.
    as_user sh "$HERE/install-agent.sh" "$@" --service none
    sh "$HERE/install-agent.sh" --service-for "$RUN_AS" --prefix "$RUN_HOME/.local/share/edgebench"
else
    as_user sh "$HERE/install-agent.sh" "$@"  # no systemd: a detached process, started by the user
fi
rm -f "$HERE/agent.token"
date >"$HERE/installed"
echo "edgebench firstboot: done"
