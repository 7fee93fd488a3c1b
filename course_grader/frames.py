"""Messages between the grader and its replay of a submission (course_grader/replay.py): plain data
in torch's format, each after its length (8 bytes, big-endian).

The grader's side reads with a deadline and a size cap, from a pipe the replay's code could also
have written garbage to: `FrameReader.read` returns the message, or raises BadFrame saying what
arrived instead (nothing in time, an end, a length over the cap, a compressed archive, not plain
data). Nothing is rebuilt but tensors, numbers, strings, lists, tuples and dicts
(torch.load(weights_only=True)).
"""
from __future__ import annotations

import io
import os
import select
import struct
import time
import zipfile

import torch

LENGTH = struct.Struct("!Q")
MAX_FRAME = 64 << 20  # the answers to one hidden test are a few MB at most


class BadFrame(Exception):
    """What arrived is not a message of the replay's."""


def encode(message: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(message, buffer)
    data = buffer.getvalue()
    return LENGTH.pack(len(data)) + data


def decode(data: bytes) -> object:
    """A message's payload as plain data; BadFrame for anything else."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
        # torch.save stores, never compresses: a compressed entry could inflate to gigabytes here
        if any(e.compress_type != zipfile.ZIP_STORED for e in entries) or sum(e.file_size for e in entries) > MAX_FRAME:
            raise BadFrame("a compressed or oversized archive")
        return torch.load(io.BytesIO(data), weights_only=True)
    except BadFrame:
        raise
    except Exception as err:  # noqa: BLE001 - whatever was written, it is not a message of ours
        raise BadFrame(f"not plain data ({type(err).__name__})") from None


def write(fd: int, message: object, deadline: float | None = None) -> None:
    """Write a message; with a deadline (the grader's side), BadFrame when the reader does not
    take it in time (a replay that stopped reading its input)."""
    data = memoryview(encode(message))
    if deadline is not None:
        os.set_blocking(fd, False)
    while data:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([], [fd], [], wait)[1]:
                raise BadFrame("nothing taken in time")
        try:
            data = data[os.write(fd, data):]
        except BlockingIOError:
            continue


def read_trusted(fd: int) -> object:
    """The replay's side: the grader's next message (it waits as long as it takes)."""
    header = _read_exactly(fd, LENGTH.size, None)
    return torch.load(io.BytesIO(_read_exactly(fd, LENGTH.unpack(header)[0], None)), weights_only=True)


class FrameReader:
    """The grader's side of the replay's output pipe."""

    def __init__(self, fd: int):
        self.fd = fd

    def read(self, deadline: float) -> object:
        header = _read_exactly(self.fd, LENGTH.size, deadline)
        (length,) = LENGTH.unpack(header)
        if length > MAX_FRAME:
            raise BadFrame(f"a message of {length} bytes (at most {MAX_FRAME >> 20} MiB)")
        return decode(_read_exactly(self.fd, length, deadline))


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise BadFrame("nothing in time")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise BadFrame("the end of the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
