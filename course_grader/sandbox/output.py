"""What CMD writes to its standard output and error, bounded before it reaches the grader.

A kernel's own stdout and stderr (not its cells' output, which goes over Jupyter's channels) end
in nbgrader's log, which the class command reads and searches with regular expressions: 200 MB
written there once froze the class command for twelve minutes. So CMD writes into a pipe per
stream, and the launcher passes on, to its own stdout and stderr, the first HEAD bytes of each as
they come and the last TAIL bytes when CMD ends, with a line saying how much it left out.
"""
from __future__ import annotations

import os
import select
from collections.abc import Callable

HEAD = TAIL = 32 * 1024


class _Stream:
    def __init__(self, to: int):
        self.to = to
        self.read_end, self.write_end = os.pipe()
        self.passed = self.left_out = 0
        self.tail = bytearray()

    def take(self, data: bytes) -> None:
        head = data[:max(0, HEAD - self.passed)]
        if head:
            self.write(head)
            self.passed += len(head)
        self.tail += data[len(head):]
        if len(self.tail) > TAIL:
            self.left_out += len(self.tail) - TAIL
            del self.tail[:len(self.tail) - TAIL]

    def finish(self) -> None:
        os.close(self.read_end)
        if self.left_out:
            self.write(f"\n[course_grader.sandbox: {self.left_out} bytes of the program's output left out]\n".encode())
        self.write(bytes(self.tail))

    def write(self, data: bytes) -> None:
        try:
            os.write(self.to, data)
        except OSError:
            pass  # nobody reads the launcher's output any more: CMD must still end normally


class BoundedOutput:
    """A pipe for each of CMD's stdout and stderr, pumped into the launcher's while CMD runs.
    With pass_stdout, stdout is CMD's channel to a reader that bounds what it reads itself (the
    grader's replay, course_grader/frames.py): it stays the launcher's own."""

    def __init__(self, pass_stdout: bool = False):
        self.streams = [_Stream(2)] if pass_stdout else [_Stream(1), _Stream(2)]

    def close_read_ends(self) -> None:
        """In a forked process that does not pump."""
        for stream in self.streams:
            os.close(stream.read_end)

    def in_child(self) -> None:
        """In CMD's process, before the exec: stdout and stderr into the pipes (whose read ends
        its first forked ancestor closed)."""
        for stream in self.streams:
            os.dup2(stream.write_end, stream.to)
            os.close(stream.write_end)

    def pump(self, ended: Callable[[bool], dict | None]) -> dict:
        """Pass on what comes until CMD has ended (ended(block) says how, or None while it runs
        and block is False); then the tails. Processes CMD left behind (run without a PID
        namespace) may keep the pipes open: they are not waited for."""
        open_ends = {}
        for stream in self.streams:
            os.close(stream.write_end)
            open_ends[stream.read_end] = stream
        result = None
        while open_ends:
            for fd in select.select(list(open_ends), [], [], 0.2)[0]:
                data = os.read(fd, 65536)
                if data:
                    open_ends[fd].take(data)
                else:  # every writer is gone
                    del open_ends[fd]
            if result is not None:  # what came after CMD ended, once
                break
            result = ended(False)
        for stream in self.streams:
            stream.finish()
        return result if result is not None else ended(True)
