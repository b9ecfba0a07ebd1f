"""The token of an agent installed by hand, read from the board over SSH (`controller targets add
--fetch-token`)."""
from __future__ import annotations

from ..errors import ControllerError
from ..link.target import Target
from ..link.targets_config import ssh_destination
from .ssh import Ssh, SshOptions

DEFAULT_FOLDERS = ("~/.local/share/edgebench", "/opt/edgebench")


def fetch_token(target: Target, ssh_options: SshOptions | None, remote_dir: str = "") -> str:
    """PREFIX/agent.token from the first of the folders that has one (sudo -n where it is not readable)."""
    dest = ssh_destination(target)
    folders = [remote_dir] if remote_dir else list(DEFAULT_FOLDERS)
    script = ('for d in "$@"; do case "$d" in "~/"*) d="$HOME/${d#??}" ;; esac; '
              'if [ -r "$d/agent.token" ]; then cat "$d/agent.token"; exit 0; '
              'elif [ -f "$d/agent.token" ] && sudo -n true 2>/dev/null; then sudo -n cat "$d/agent.token"; exit 0; '
              'fi; done; exit 3')
    result = Ssh(dest, ssh_options).run(["sh", "-c", script, "fetch-token", *folders], timeout_s=60)
    token = result.stdout.strip()
    if result.returncode != 0 or not token:
        raise ControllerError(f"no agent token on {dest} in {' or '.join(folders)} (is the agent installed there? "
                              "pass --remote-dir for another folder)")
    return token
