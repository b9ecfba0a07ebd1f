#!/usr/bin/env bash
# Debian packages the test suite uses as real parts: a PostgreSQL server (results store), Chromium (the HTML
# report is checked in a real browser), OpenSSH server (deploy over SSH into a network namespace), iproute2
# (ip netns) and python3-venv (the test board's system Python makes the agent's venv). Installs only what is
# missing; needs root (CI runs as root). Without root it says what is missing and the tests that need it fail
# loudly.
set -euo pipefail
PACKAGES=(postgresql chromium openssh-server openssh-client iproute2 sudo python3-venv)
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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system-deps: installed ${missing[*]}"
