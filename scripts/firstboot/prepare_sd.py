#!/usr/bin/env python3
"""Prepare a freshly written SD card so that the board installs and starts the agent on its first boot.

    python scripts/firstboot/prepare_sd.py /media/$USER/bootfs --user pi --target pi@raspberrypi.local
    python scripts/firstboot/prepare_sd.py BOOT --user pi --target pi@10.0.0.5 --offline \\
        --machine aarch64 --python 3.11 --libc glibc-2.36        # no network needed on the board

Writes BOOT/edgebench/: install-agent.sh, firstboot.sh, edgebench-firstboot.service, a wheel of this
edgebench, a token (also stored on this host for --target, so `controller bench --target ...` works as soon as
the board is up), and with --offline a wheelhouse for the board's Python. Then hooks firstboot.sh into the
image's first boot:
  - cloud-init (BOOT/user-data exists, or --hook cloud-init): a runcmd entry in user-data;
  - otherwise Raspberry Pi OS's firstrun.sh (the one Raspberry Pi Imager writes, or a new one started from
    cmdline.txt): it enables edgebench-firstboot.service, which runs firstboot.sh once the network is up.
The boot partition is FAT and readable by every local user until first boot: firstboot.sh deletes the token
from it once installed.
"""
from __future__ import annotations

import argparse
import re
import secrets
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

HERE = Path(__file__).resolve().parent
BOARD_DIR = "/boot/firmware/edgebench"  # where the boot partition is mounted on Raspberry Pi OS Bookworm and later
MARK = "# edgebench: install the agent on first boot"
FIRSTRUN_SNIPPET = f"""{MARK}
cp {BOARD_DIR}/edgebench-firstboot.service /etc/systemd/system/edgebench-firstboot.service
systemctl enable edgebench-firstboot.service
"""
CMDLINE_RUN = (" systemd.run=/boot/firmware/firstrun.sh systemd.run_success_action=reboot "
               "systemd.unit=kernel-command-line.target")


def runcmd_line(user: str) -> str:
    return f"[sh, {BOARD_DIR}/firstboot.sh, {user}]"


def hook_cloud_init(boot: Path, user: str) -> str:
    path = boot / "user-data"
    entry = runcmd_line(user)
    if not path.exists():
        path.write_text((HERE / "user-data").read_text().replace(runcmd_line("pi"), entry))
        return f"wrote {path}"
    text = path.read_text()
    if f"{BOARD_DIR}/firstboot.sh" in text:
        return f"{path} already runs firstboot.sh"
    match = re.search(r"^runcmd:[ \t]*\n(?P<indent>[ \t]*)-", text, re.MULTILINE)
    if match:
        at = match.start("indent")
        text = text[:at] + f"{match.group('indent')}- {entry}\n" + text[at:]
    elif re.search(r"^runcmd:", text, re.MULTILINE):
        raise SystemExit(f"{path} has a runcmd: in a form this script does not edit; add `- {entry}` to it")
    else:
        text = text.rstrip("\n") + f"\n\n{MARK}\nruncmd:\n  - {entry}\n"
    path.write_text(text)
    return f"added the runcmd entry to {path}"


def hook_firstrun(boot: Path) -> str:
    firstrun = boot / "firstrun.sh"
    if firstrun.exists():
        text = firstrun.read_text()
        if MARK in text:
            return f"{firstrun} already enables edgebench-firstboot.service"
        # Raspberry Pi Imager's script ends by removing itself and its cmdline.txt entry: go before that.
        match = re.search(r"^rm -f /boot(/firmware)?/firstrun\.sh", text, re.MULTILINE)
        at = match.start() if match else len(text)
        firstrun.write_text(text[:at] + FIRSTRUN_SNIPPET + text[at:])
        return f"added edgebench to {firstrun}"
    firstrun.write_text("#!/bin/bash\nset +e\n" + FIRSTRUN_SNIPPET +
                        "rm -f /boot/firmware/firstrun.sh\n"
                        "sed -i 's| systemd.run.*||g' /boot/firmware/cmdline.txt\nexit 0\n")
    cmdline = boot / "cmdline.txt"
    if not cmdline.exists():
        raise SystemExit(f"{cmdline} not found: is {boot} the boot partition of a Raspberry Pi OS image?")
    line = cmdline.read_text().strip()
    if "systemd.run=" not in line:
        cmdline.write_text(line + CMDLINE_RUN + "\n")
    return f"wrote {firstrun} and started it from {cmdline}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("boot", type=Path, help="the SD card's boot partition, mounted (bootfs)")
    parser.add_argument("--user", default="pi", help="the board user the agent runs as (default pi)")
    parser.add_argument("--target", help="[user@]host[:port] the board will have: its token is stored here for it")
    parser.add_argument("--hook", choices=["auto", "cloud-init", "firstrun"], default="auto")
    parser.add_argument("--agent-args", default="", help="more edgebench-agent options")
    off = parser.add_argument_group("offline: the board installs from wheels on the card (needs --machine etc.)")
    off.add_argument("--offline", action="store_true")
    off.add_argument("--machine", default="aarch64", help="the board's uname -m (default aarch64)")
    off.add_argument("--python", default="3.11", help="the board's Python (Bookworm: 3.11; Trixie: 3.13)")
    off.add_argument("--libc", default="glibc-2.36", help="the board's C library (Bookworm: glibc-2.36)")
    off.add_argument("--wheelhouse", type=Path, help="the host's wheelhouse cache (default ~/.cache/edgebench/wheelhouse)")
    args = parser.parse_args(argv)

    from edgebench.controller.deploy.deploy import default_wheelhouse
    from edgebench.controller.deploy.install_script import install_script
    from edgebench.controller.deploy.wheels import (
        BoardPython,
        build_wheel,
        download_wheelhouse,
        write_sha256sums,
    )
    from edgebench.controller.link import targets_config
    from edgebench.controller.link.target import parse_target

    if not args.boot.is_dir():
        raise SystemExit(f"{args.boot} is not a folder (mount the SD card's boot partition)")
    dest = args.boot / "edgebench"
    dest.mkdir(exist_ok=True)
    for name in ("firstboot.sh", "edgebench-firstboot.service"):
        shutil.copyfile(HERE / name, dest / name)
    # The packaged script's text, not scripts/install-agent.sh (a symlink): FAT has no links.
    (dest / "install-agent.sh").write_text(install_script())
    for old in dest.glob("edgebench-*.whl"):
        old.unlink()
    wheel = build_wheel(dest)
    print(f"built {wheel.name}")
    if args.offline:
        board = BoardPython(args.machine, args.python, args.libc)
        wheels = download_wheelhouse(board, wheel, args.wheelhouse or default_wheelhouse(), log=print)
        house = dest / "wheelhouse"
        house.mkdir(exist_ok=True)
        for w in wheels:
            shutil.copyfile(w, house / w.name)
        write_sha256sums(house / "SHA256SUMS", wheels)
        print(f"copied {len(wheels)} wheels for {board.key} to {house}")
    if args.agent_args:
        (dest / "agent-args").write_text(args.agent_args + "\n")
    token = secrets.token_urlsafe(32)
    (dest / "agent.token").write_text(token + "\n")
    if args.target:
        target = parse_target(args.target)
        config = targets_config.load(target) or targets_config.new_config(target)
        config.token = token
        config.tls_ca = config.tls_cert = config.tls_key = ""
        print(f"stored the token for {args.target} in {targets_config.save(config)}")
    else:
        print(f"the token is in {dest / 'agent.token'}: `controller targets add USER@HOST --token-file` it")
    hook = args.hook
    if hook == "auto":
        hook = "cloud-init" if (args.boot / "user-data").exists() else "firstrun"
    print(hook_cloud_init(args.boot, args.user) if hook == "cloud-init" else hook_firstrun(args.boot))
    (dest / "installed").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
