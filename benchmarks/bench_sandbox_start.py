"""Seconds from asking for a grading kernel to its first answer, with torch imported, per sandbox.

    python benchmarks/bench_sandbox_start.py [--runs 5]

What decides between our own launcher (course_grader/sandbox/) and bubblewrap (`bwrap`, Flatpak's
sandbox, Debian's package `bubblewrap`): each backend starts the same kernel, in the same run, and
the median is printed with its ratio to a kernel started without any sandbox.
- none: jupyter_client's own kernel, no sandbox;
- launcher: our launcher, cold (a new Python imports torch in the kernel);
- launcher + zygote: our launcher handing over to the warm zygote the class command starts,
  whose fork has imported torch already;
- bwrap: bubblewrap with the same view (new namespaces, read-only root, tmpfs /tmp and /run, the
  scratch folder writable), cold. bwrap must exec the kernel: it cannot fork a warm process.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from course_grader.sandbox import SandboxKernelManager, zygote

FIRST_CODE = "import torch"  # what every grading kernel does first (the course's kernel extension)


class BwrapKernelManager(AsyncKernelManager):
    """The kernel under bubblewrap, talking over IPC sockets in its scratch folder as ours does."""

    @default("transport")
    def _default_transport(self):
        return "ipc"

    async def _async_pre_start_kernel(self, **kw):
        self.scratch = tempfile.mkdtemp(prefix="bench-bwrap-")
        self.connection_file = os.path.join(self.scratch, "kernel.json")
        self.ip = os.path.join(self.scratch, "kernel")
        kw["cwd"] = self.scratch
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        view = ["--ro-bind", "/", "/", "--tmpfs", "/tmp", "--tmpfs", "/run", "--dev", "/dev", "--proc", "/proc",
                "--bind", self.scratch, self.scratch, "--chdir", self.scratch]
        # Inside bwrap's PID namespace the grader's PID means nothing: ipykernel would see its parent
        # gone and quit. PID 1 tells it not to poll, as course_grader/sandbox/processes.py does.
        prefix = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", *view,
                  "--setenv", "JPY_PARENT_PID", "1", "--"]
        return await super()._async_launch_kernel(prefix + kernel_cmd, **kw)


class PlainKernelManager(AsyncKernelManager):
    pass


async def start_once(manager_class) -> float:
    manager = manager_class(kernel_name="python3")
    started = time.perf_counter()
    await manager.start_kernel(cwd=None)
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=120)
        reply = await client.execute_interactive(FIRST_CODE, timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
        return time.perf_counter() - started
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)
        if getattr(manager, "scratch", None) and manager_class is BwrapKernelManager:
            shutil.rmtree(manager.scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    backends = {"none": PlainKernelManager, "launcher": SandboxKernelManager,
                "launcher + zygote": SandboxKernelManager}
    if shutil.which("bwrap"):
        backends["bwrap"] = BwrapKernelManager
    else:
        print("bwrap not found (Debian: apt-get install bubblewrap): measured without it")
    folder = tempfile.mkdtemp(prefix="bench-zygote-")
    socket = os.path.join(folder, "socket")
    warm = subprocess.Popen([sys.executable, "-I", zygote.__file__, socket])
    while not os.path.exists(socket):
        time.sleep(0.05)
    times = {name: [] for name in backends}
    try:
        for _ in range(runs):  # interleaved, so that a busy moment costs every backend alike
            for name, manager_class in backends.items():
                if name == "launcher + zygote":
                    os.environ[zygote.ENV] = socket
                times[name].append(asyncio.run(start_once(manager_class)))
                os.environ.pop(zygote.ENV, None)
    finally:
        warm.kill()
        warm.wait()
        shutil.rmtree(folder, ignore_errors=True)
    base = statistics.median(times["none"])
    print(f"kernel start until `{FIRST_CODE}` has run, median of {runs} (as uid {os.geteuid()}):")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"  {name:18} {median:6.2f} s   {median / base:5.2f}x none   (runs: "
              f"{', '.join(f'{s:.2f}' for s in seconds)})")


if __name__ == "__main__":
    main()
