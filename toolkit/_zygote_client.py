"""Kernel launcher that asks a report zygote to fork a fresh kernel (see
``toolkit/_kernel_zygote.py``). Run by path, standard library only, so that it
starts in milliseconds: ``python _zygote_client.py SOCKET -f CONNECTION_FILE ...``.
Falls back to an ordinary ``ipykernel_launcher`` when the zygote is unreachable.
"""

import json
import os
import signal
import socket
import sys
import time


def main() -> None:
    path, argv = sys.argv[1], sys.argv[2:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(30)
            conn.connect(path)
            request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "client": os.getpid()}
            conn.sendall((json.dumps(request) + "\n").encode("utf-8"))
            pid = int(json.loads(conn.makefile("r", encoding="utf-8").readline())["pid"])
    except (OSError, ValueError, KeyError):
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
        if signum == signal.SIGTERM:
            sys.exit(0)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    while True:  # live as long as the kernel, as jupyter_client expects of a kernel process
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


if __name__ == "__main__":
    main()
