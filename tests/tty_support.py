"""Running the command line on a pseudo-terminal of a given width, for the tests of terminal layout."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

IPOWNER = str(Path(sys.executable).parent / "ipowner")


def pty_run(args: list[str], env: dict[str, str], width: int, stdin: int | None = subprocess.DEVNULL) -> str:
    """Run ipowner on a pseudo-terminal ``width`` columns wide; its output with colours removed."""
    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, width, 0, 0))
    p = subprocess.Popen([IPOWNER, *args], stdout=follower, stderr=subprocess.DEVNULL, stdin=stdin,
                         env={**env, "TERM": "xterm"})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    p.wait(timeout=120)
    os.close(leader)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", "", text)
