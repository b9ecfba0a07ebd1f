#!/usr/bin/env bash
# Run one command inside the arm64 root file system (qemu-user through binfmt), as a process of this machine.
#
#   scripts/aarch64/rootfs-exec.sh [--pid] [--no-chroot] [-C DIR] [-e NAME=VALUE]... [--bind SRC:DEST]...
#                                  ROOTFS COMMAND [ARGS...]
#
# The mounts the board needs (/proc with an arm64 /proc/cpuinfo, /dev, /sys/devices/system/cpu, a fresh /tmp,
# and any --bind of a host path SRC onto DEST inside the rootfs) are made in a mount namespace of this
# command's own, so they exist only for it and vanish with it: nothing is left mounted on the machine or in the cached rootfs, even when
# the command is killed. The command runs chrooted with an empty environment (the host's pip and Python
# variables must not leak into the board) plus the -e variables given, in DIR (default /).
#
# --pid        also a pid namespace: every process started inside dies when this script's process dies
#              (for a test run; the command is then pid 1 and ignores signals it has no handler for, so do
#              not use it for a process whose pid a caller signals).
# --no-chroot  make the mounts, then exec COMMAND on the host file system with the caller's environment:
#              for an sshd whose ChrootDirectory is the rootfs (it chroots each session itself).
# Without --pid the command keeps this script's pid (exec all the way), so a caller's terminate() reaches it.
set -euo pipefail
usage="usage: $0 [--pid] [--no-chroot] [-C DIR] [-e NAME=VALUE]... [--bind SRC:DEST]... ROOTFS COMMAND [ARGS...]"
inside=0 pid_ns=() chroot=1 cwd=/ envs=() binds=()
while [ $# -gt 0 ]; do
  case "$1" in
    --inside) inside=1; shift ;;
    --pid) pid_ns=(--pid --fork --kill-child); shift ;;
    --no-chroot) chroot=0; shift ;;
    -C) cwd=$2; shift 2 ;;
    -e) envs+=("$2"); shift 2 ;;
    --bind) binds+=("$2"); shift 2 ;;
    --) shift; break ;;
    -*) echo "$usage" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
rootfs=$(cd "$1" && pwd)
shift
[ -x "$rootfs/usr/bin/python3" ] && [ -d "$rootfs/etc/edgebench" ] \
  || { echo "rootfs-exec: $rootfs is not an arm64 rootfs made by scripts/test-aarch64.sh" >&2; exit 2; }

if [ "$inside" -eq 0 ]; then
  # Phase 1: a private mount namespace (and maybe a pid namespace), then this script again inside it.
  opts=()
  [ "$chroot" -eq 1 ] || opts+=(--no-chroot)
  for e in ${envs[@]+"${envs[@]}"}; do opts+=(-e "$e"); done
  for b in ${binds[@]+"${binds[@]}"}; do opts+=(--bind "$b"); done
  exec unshare --mount --propagation private ${pid_ns[@]+"${pid_ns[@]}"} -- \
    "$0" --inside -C "$cwd" ${opts[@]+"${opts[@]}"} "$rootfs" "$@"
fi

# Phase 2, in the new mount namespace: the board's mounts.
mount -t proc proc "$rootfs/proc"
# qemu 7.2 passes this machine's x86 /proc/cpuinfo through and onnxruntime's CPU probe segfaults parsing it,
# so the board reads an arm64 one: a Cortex-A72 stanza (a Pi 4's core) for each CPU this machine has. It has
# no Hardware/Model lines, so nothing here claims to be a particular board.
mount -t tmpfs -o size=1m,mode=0755 tmpfs "$rootfs/etc/edgebench"
cpus=$(grep -c '^cpu[0-9]' /proc/stat)
for ((i = 0; i < cpus; i++)); do
  printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n' "$i"
  printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n'
  printf 'CPU part\t: 0xd08\nCPU revision\t: 3\n\n'
done >"$rootfs/etc/edgebench/cpuinfo"
mount --bind "$rootfs/etc/edgebench/cpuinfo" "$rootfs/proc/cpuinfo"
mount --rbind /dev "$rootfs/dev"
# Of /sys only this machine's CPU list (onnxruntime's cpuinfo reads possible/present from it): the board has
# no device tree, DMI or sensors of this machine's, so it says "unknown" rather than what the host is.
mount -t tmpfs -o size=1m,mode=0755 tmpfs "$rootfs/sys"
mkdir -p "$rootfs/sys/devices/system/cpu"
mount --rbind -o ro /sys/devices/system/cpu "$rootfs/sys/devices/system/cpu"
mount -t tmpfs -o mode=1777,size=4g tmpfs "$rootfs/tmp"
for b in ${binds[@]+"${binds[@]}"}; do
  mount --bind "${b%%:*}" "$rootfs/${b#*:}"
done
if [ "$chroot" -eq 0 ]; then
  exec "$@"
fi
exec chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
  ${envs[@]+"${envs[@]}"} /bin/sh -c 'cd "$0" && exec "$@"' "$cwd" "$@"
