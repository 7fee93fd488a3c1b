"""The launcher's side of the warm launcher (zygote.py): hand the whole launch over to it.

Standard library and this package only, as the launcher is.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys

from course_grader.sandbox import processes
from course_grader.sandbox.launcher import launcher_environment

ENV = "COURSE_SANDBOX_ZYGOTE"
MESSAGE = 1 << 20  # largest request: arguments and environment


def send(conn: socket.socket, **message) -> None:
    conn.send(json.dumps(message).encode())


def receive(conn: socket.socket) -> dict | None:
    try:
        data = conn.recv(MESSAGE)
    except OSError:
        return None
    return json.loads(data) if data else None


def request(path: str, argv: list[str]) -> int | None:
    """Run the launcher with argv in a fork of the zygote at path: its exit code, or None if the
    zygote cannot be reached (then the caller runs the launcher itself)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    env = launcher_environment(os.environ)  # no secret of the grader's in the zygote's memory
    # Blocked until they can be passed on below, as the launcher does for its own children.
    processes.remember_signal_mask()
    signal.pthread_sigmask(signal.SIG_BLOCK, processes.FORWARDED)
    try:
        conn.connect(path)
        socket.send_fds(conn, [json.dumps({"argv": argv, "env": env, "cwd": os.getcwd()}).encode()], [0, 1, 2])
        started = receive(conn)
    except OSError as err:
        print(f"course_grader.sandbox: no zygote at {path} ({err.strerror}): starting without it", file=sys.stderr)
        started = None
    if not started:
        conn.close()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, processes.FORWARDED)
        return None
    processes.forward_signals_to(started["pid"])
    ended = receive(conn)
    # No report: the fork was killed, likely with the sandbox's first process at the OOM killer's hand.
    return ended["code"] if ended else 128 + signal.SIGKILL
