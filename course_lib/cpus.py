"""How many CPUs this process may really use, and torch threads that share them well.

`os.cpu_count()` reports the machine's cores. A container or a Binder pod often gets far fewer:
its CPU affinity (the cores it may run on) and its cgroup's CPU quota (CPU time per period)
limit it, and torch, which starts one thread per reported core, then spins its threads against
each other. `available_cpus` reads all three; `use_available_cpus` (the lessons' setup cell)
sets torch's threads from it, leaving out the CPUs other processes are busy on at that moment;
a `ThreadGovernor` can also re-choose while training (measured in benchmarks/bench_shared_cpu.py).
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from course_lib.i18n import _

__all__ = ["available_cpus", "cgroup_cpu_quota", "other_running_tasks", "ThreadGovernor", "use_available_cpus"]

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _ancestors(root: Path, group: str) -> list[Path]:
    """root/group, its parents up to root, and root itself: a limit can sit on any of them.

    Inside a container /proc/self/cgroup may name the host's path while root is the container's
    own view of the hierarchy, so missing folders are simply skipped by the caller.
    """
    parts = [p for p in group.strip("/").split("/") if p]
    return [root.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]


def _v1_quota(folder: Path) -> float | None:
    quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
    if quota is None or period is None:
        return None
    quota_us, period_us = int(quota), int(period)
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None  # -1: no quota


def _v2_quota(folder: Path) -> float | None:
    text = _read(folder / "cpu.max")  # "max 100000" (no limit) or "150000 100000"
    if text is None:
        return None
    quota, _sep, period = text.partition(" ")
    if quota == "max":
        return None
    return int(quota) / int(period or 100000)


def cgroup_cpu_quota(cgroup_root: Path | str = CGROUP_ROOT,
                     proc_cgroup: Path | str = PROC_CGROUP) -> float | None:
    """CPUs' worth of time per period the process's cgroup allows (e.g. 1.5), or None if unlimited.

    Reads the process's own cgroup from `proc_cgroup` (lines "id:controllers:/path"), then the
    v1 CFS quota (cpu.cfs_quota_us / cpu.cfs_period_us under the cpu controller) and the v2
    cpu.max, on the group and every ancestor; the smallest limit found wins.
    """
    root, text = Path(cgroup_root), _read(Path(proc_cgroup))
    if text is None:
        return None
    quotas = []
    for line in text.splitlines():
        hierarchy, _sep, rest = line.partition(":")
        controllers, _sep, group = rest.partition(":")
        if not hierarchy:
            continue
        if controllers == "":  # cgroup v2: mounted at root, or at root/unified on hybrid systems
            mounts = [m for m in (root, root / "unified") if (m / "cgroup.controllers").exists()]
            quotas += [_v2_quota(f) for m in mounts[:1] for f in _ancestors(m, group)]
        elif "cpu" in controllers.split(","):
            # v1 mounts the controller at root/cpu, or at a joint folder such as root/cpu,cpuacct
            mounts = [root / controllers, root / "cpu"]
            quotas += [_v1_quota(f) for m in mounts for f in _ancestors(m, group)]
    found = [q for q in quotas if q is not None]
    return min(found) if found else None


def available_cpus(cgroup_root: Path | str = CGROUP_ROOT, proc_cgroup: Path | str = PROC_CGROUP) -> int:
    """CPUs this process may use: its affinity, capped by its cgroup quota rounded up, at least 1.

    A quota of 1.5 CPUs gives 2 (two threads can each use part of it); 0.3 gives 1.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_quota(cgroup_root, proc_cgroup)
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


class ThreadGovernor:
    """Chooses torch's thread count while training, from the measured time per optimizer step.

    It tries each thread count in `choices` (all available, then 1) for `window` steps and keeps
    the fastest, by the median time between steps (so an evaluation between two steps does not
    count). Holding all threads, it keeps timing: when the median of the last `window` steps is
    more than `drift` (25 %) slower than the trial measured, other processes have started and it
    tries again; after `max_hold` steps it tries again anyway. Holding fewer threads it retries
    after a quarter of `max_hold` steps: one thread runs almost as fast beside busy processes as
    alone, and its step times jitter, so only a new trial sees the contention end. Quiet, the most threads win;
    beside busy processes, threads that spin waiting for a busy core lose and one thread wins.
    `use_available_cpus` installs one on every optimizer.
    """

    def __init__(self, max_threads: int, window: int = 5, drift: float = 0.25, max_hold: int = 400):
        if max_threads < 1 or window < 2 or drift <= 0 or max_hold < window:
            raise ValueError(_("need max_threads >= 1, window >= 2, drift > 0, max_hold >= window, "
                               "got {max_threads}, {window}, {drift}, {max_hold}", max_threads=max_threads,
                               window=window, drift=drift, max_hold=max_hold))
        self.choices = sorted({max_threads, 1}, reverse=True)  # most threads first
        self.window, self.drift, self.max_hold = window, drift, max_hold
        self.best, self.trials, self.switches = max_threads, 0, 0
        self._start_trial()

    @staticmethod
    def _median(times: list[float]) -> float:
        return sorted(times)[len(times) // 2]

    def _set(self, threads: int) -> None:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
            self.switches += 1
        self._last = None  # the first step after a switch pays for it: not timed

    def _start_trial(self) -> None:
        self._trial: int | None = 0  # index into choices while trying, None while holding
        self._times: dict[int, list[float]] = {}
        self.trials += 1
        self._set(self.choices[0])

    def _hold(self, reference: float) -> None:
        self._trial, self._reference, self._recent, self._held = None, reference, [], 0
        self._set(self.best)

    def step(self) -> None:
        """Record one optimizer step (call it after each step; the hook does)."""
        now = time.perf_counter()
        last, self._last = self._last, now
        if len(self.choices) == 1 or last is None:
            return
        interval = now - last
        if self._trial is None:  # holding the best choice: watch for a change of load
            self._held += 1
            self._recent = (self._recent + [interval])[-self.window:]
            if self.best == self.choices[0]:  # all threads: retry when steps get slower (others started)
                hold = self.max_hold
                slower = (len(self._recent) == self.window
                          and self._median(self._recent) > (1 + self.drift) * self._reference)
            else:  # fewer threads: step times jitter under contention and tell nothing; retry on a timer
                hold, slower = self.max_hold // 4, False
            if slower or self._held >= hold:
                self._start_trial()
            return
        times = self._times.setdefault(self.choices[self._trial], [])
        times.append(interval)
        if len(times) < self.window:
            return
        self._trial += 1
        if self._trial < len(self.choices):
            self._set(self.choices[self._trial])
            return
        medians = {threads: self._median(ts) for threads, ts in self._times.items()}
        self.best = min(medians, key=medians.get)
        self._hold(medians[self.best])

    def __call__(self, _optimizer, _args, _kwargs) -> None:  # torch's optimizer step post-hook
        self.step()


def other_running_tasks(proc_stat: Path | str = "/proc/stat", samples: int = 5, interval: float = 0.05) -> int:
    """Tasks running or ready to run on the machine besides this one, right now (median of samples).

    Read from procs_running in /proc/stat; 0 where there is no such file (macOS, Windows).
    """
    counts = []
    for i in range(samples):
        text = _read(Path(proc_stat))
        if text is None:
            return 0
        line = next((ln for ln in text.splitlines() if ln.startswith("procs_running ")), None)
        if line is None:
            return 0
        counts.append(int(line.split()[1]) - 1)  # minus this process, which is running to read it
        if i + 1 < samples:
            time.sleep(interval)
    return max(0, sorted(counts)[len(counts) // 2])


_hook = None


def use_available_cpus(adaptive: bool = False) -> int:
    """Set torch's threads for the CPUs this process may use and that others leave free now.

    available_cpus() minus the tasks other processes are running at this moment, at least 1:
    on a quiet machine every CPU, beside two busy processes on two cores one thread (torch's
    threads then stop spinning against them: benchmarks/bench_shared_cpu.py). With `adaptive`,
    a ThreadGovernor also re-chooses while training (measured slower beside busy processes on
    this machine, hence off by default). Returns the thread count set.
    """
    global _hook
    cpus = available_cpus()
    threads = max(1, min(cpus, cpus - other_running_tasks()))
    torch.set_num_threads(threads)
    if _hook is not None:
        _hook.remove()
        _hook = None
    if adaptive and cpus > 1:
        governor = ThreadGovernor(cpus)
        _hook = register_optimizer_step_post_hook(governor)
    return threads
