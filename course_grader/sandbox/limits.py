"""What the sandbox allows CMD (memory, processes plus threads, CPU seconds, file and scratch
size), and sizes read as people write them ("2G", "512M"), as the command line and nbgrader_config.py give them."""
from __future__ import annotations

import re
from dataclasses import dataclass

GiB, MiB = 1024**3, 1024**2


@dataclass
class Limits:
    memory: int = 2 * GiB
    processes: int = 256  # threads count too: torch starts one per core
    cpu: int = 600  # seconds of CPU time, per process
    file_size: int = 256 * MiB
    scratch: int = 512 * MiB  # the scratch folder's size, as root (a tmpfs: it counts as memory too)


def parse_size(text: str) -> int:
    """'2G', '512M', '64K' or bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", str(text), re.IGNORECASE)
    if not match:
        raise ValueError(f"not a size: {text!r} (examples: 2G, 512M, 1048576)")
    return int(float(match[1]) * 1024 ** " KMGT".index(match[2].upper() or " "))


def size_text(n: int) -> str:
    return f"{n / GiB:g} GiB" if n >= GiB else f"{n / MiB:g} MiB"
