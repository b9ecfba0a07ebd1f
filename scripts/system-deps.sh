#!/usr/bin/env bash
# Debian packages the test suite uses as real parts: a PostgreSQL server (results store), Chromium (the HTML
# report is checked in a real browser), OpenSSH server (deploy over SSH into a network namespace), iproute2
# (ip netns) and python3-venv (the test board's system Python makes the agent's venv). Installs only what is
# missing; needs root (CI runs as root). Without root it says what is missing and the tests that need it fail
# loudly.
#
#   scripts/system-deps.sh           install what is missing
#   scripts/system-deps.sh --check   only check that apt can work here (apt-get check), waiting for the lock
set -euo pipefail
PACKAGES=(postgresql chromium openssh-server openssh-client iproute2 sudo python3-venv)
# Another apt (unattended-upgrades, a parallel job) may hold the dpkg lock: apt waits for it itself, up to
# this bound, instead of failing at once with "Could not get lock /var/lib/dpkg/lock-frontend".
LOCK_WAIT_S=${EDGEBENCH_APT_LOCK_WAIT_S:-600}
APT=(apt-get -o "DPkg::Lock::Timeout=$LOCK_WAIT_S")
if [ "${1:-}" = "--check" ]; then
  exec "${APT[@]}" check -qq
fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing Debian packages: ${missing[*]} (run as root or install them)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${APT[@]}" update -qq || ! "${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  echo "system-deps: could not install ${missing[*]} (is another apt still holding the dpkg lock after" \
       "${LOCK_WAIT_S} s?)" >&2
  exit 1
fi
echo "system-deps: installed ${missing[*]}"
