"""course_lib.cpus: CPUs from affinity and cgroup quotas (fake cgroup trees), and the thread governor."""
from __future__ import annotations

import os

import pytest
import torch

from course_lib import cpus
from course_lib.cpus import ThreadGovernor, available_cpus, cgroup_cpu_quota, use_available_cpus


def _tree(tmp_path, proc_cgroup: str, files: dict[str, str]):
    """A fake /sys/fs/cgroup under tmp_path/cg and a fake /proc/self/cgroup; returns their paths."""
    root = tmp_path / "cg"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text(proc_cgroup)
    return root, proc


V1 = "12:memory:/job\n4:cpu,cpuacct:/job\n1:name=systemd:/job\n"
V2 = "0::/user.slice/job\n"


@pytest.mark.parametrize("proc,files,expected", [
    (V1, {"cpu,cpuacct/job/cpu.cfs_quota_us": "150000", "cpu,cpuacct/job/cpu.cfs_period_us": "100000"}, 1.5),
    (V1, {"cpu/job/cpu.cfs_quota_us": "200000", "cpu/job/cpu.cfs_period_us": "100000"}, 2.0),
    (V1, {"cpu,cpuacct/job/cpu.cfs_quota_us": "-1", "cpu,cpuacct/job/cpu.cfs_period_us": "100000"}, None),
    # the group's own path is missing (container view): the mount's root holds the limit
    (V1, {"cpu,cpuacct/cpu.cfs_quota_us": "50000", "cpu,cpuacct/cpu.cfs_period_us": "100000"}, 0.5),
    (V2, {"cgroup.controllers": "cpu memory", "user.slice/job/cpu.max": "250000 100000"}, 2.5),
    (V2, {"cgroup.controllers": "cpu memory", "user.slice/job/cpu.max": "max 100000"}, None),
    # a parent's limit applies to its children: the smallest along the path wins
    (V2, {"cgroup.controllers": "cpu", "user.slice/cpu.max": "100000 100000",
          "user.slice/job/cpu.max": "max 100000"}, 1.0),
    (V2, {"unified/cgroup.controllers": "cpu", "unified/user.slice/job/cpu.max": "30000 100000"}, 0.3),
    (V2, {}, None),
], ids=["v1_joint_mount", "v1_cpu_mount", "v1_no_quota", "v1_container_root", "v2_quota", "v2_max",
        "v2_parent_limit", "v2_hybrid_unified", "no_cgroup_files"])
def test_cgroup_quota_is_read_from_the_process_own_group(tmp_path, proc, files, expected):
    root, proc_path = _tree(tmp_path, proc, files)
    quota = cgroup_cpu_quota(root, proc_path)
    assert quota == (pytest.approx(expected) if expected is not None else None)


def test_no_proc_cgroup_file_means_no_quota(tmp_path):
    assert cgroup_cpu_quota(tmp_path, tmp_path / "missing") is None


@pytest.mark.parametrize("quota_us,expected_cap", [
    ("30000", 1),    # 0.3 CPU rounds up to 1, never 0
    ("150000", 2),   # 1.5 CPUs: two threads can share it
    ("100000", 1),
    ("-1", None),    # no quota: affinity alone
], ids=["fraction_below_one", "fraction_above_one", "exactly_one", "unlimited"])
def test_available_cpus_caps_affinity_by_the_quota_rounded_up(tmp_path, monkeypatch, quota_us, expected_cap):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7})
    root, proc = _tree(tmp_path, V1, {"cpu,cpuacct/job/cpu.cfs_quota_us": quota_us,
                                      "cpu,cpuacct/job/cpu.cfs_period_us": "100000"})
    assert available_cpus(root, proc) == (expected_cap if expected_cap is not None else 8)


def test_available_cpus_follows_the_affinity_mask(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
    assert available_cpus(tmp_path, tmp_path / "missing") == 1


def test_available_cpus_on_this_machine_is_within_its_cores():
    assert 1 <= available_cpus() <= (os.cpu_count() or 1)


# ---- the governor --------------------------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(cpus.time, "perf_counter", fake)
    threads = torch.get_num_threads()
    yield fake
    torch.set_num_threads(threads)


def _steps(governor, clock, n, seconds_per_step):
    """n optimizer steps, each taking seconds_per_step(threads in use)."""
    for _ in range(n):
        clock.now += seconds_per_step(torch.get_num_threads())
        governor.step()


def test_governor_keeps_all_threads_on_a_quiet_machine(clock):
    governor = ThreadGovernor(2, window=4)
    _steps(governor, clock, 200, lambda t: 0.010 if t == 2 else 0.018)
    assert governor.best == 2 and torch.get_num_threads() == 2
    assert governor.trials == 1, "a steady load must not trigger new trials"


def test_governor_drops_to_one_thread_when_contended_and_comes_back_when_quiet(clock):
    governor = ThreadGovernor(2, window=4)
    _steps(governor, clock, 30, lambda t: 0.010 if t == 2 else 0.018)             # quiet
    _steps(governor, clock, 60, lambda t: 0.050 if t == 2 else 0.022)             # two busy neighbours
    assert governor.best == 1 and torch.get_num_threads() == 1
    # one thread runs about as fast now: no drift to see, the shorter hold on one thread retries
    _steps(governor, clock, governor.max_hold // 4 + 20, lambda t: 0.010 if t == 2 else 0.018)
    assert governor.best == 2 and torch.get_num_threads() == 2


def test_governor_ignores_one_long_pause_between_steps(clock):
    governor = ThreadGovernor(2, window=5)
    _steps(governor, clock, 20, lambda t: 0.010 if t == 2 else 0.018)
    clock.now += 3.0  # an evaluation between two steps
    _steps(governor, clock, 20, lambda t: 0.010 if t == 2 else 0.018)
    assert governor.best == 2 and governor.trials == 1


def test_governor_with_one_cpu_never_changes_threads(clock):
    torch.set_num_threads(1)
    governor = ThreadGovernor(1)
    _steps(governor, clock, 50, lambda t: 0.01)
    assert governor.switches == 0 and torch.get_num_threads() == 1


@pytest.mark.parametrize("kwargs", [dict(max_threads=0), dict(max_threads=2, window=1),
                                    dict(max_threads=2, drift=0), dict(max_threads=2, window=5, max_hold=3)],
                         ids=["no_threads", "window_1", "no_drift", "hold_below_window"])
def test_governor_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError, match="need max_threads >= 1"):
        ThreadGovernor(**kwargs)


@pytest.mark.parametrize("others,expected", [(0, 2), (1, 1), (5, 1)], ids=["quiet", "one_busy", "overloaded"])
def test_use_available_cpus_leaves_out_cpus_others_are_busy_on(monkeypatch, others, expected):
    threads = torch.get_num_threads()
    monkeypatch.setattr(cpus, "available_cpus", lambda: 2)
    monkeypatch.setattr(cpus, "other_running_tasks", lambda: others)
    try:
        assert use_available_cpus() == expected and torch.get_num_threads() == expected
        assert cpus._hook is None, "no governor unless asked for"
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("running,expected", [("1", 0), ("3", 2), ("0", 0)], ids=["only_us", "two_others", "zero"])
def test_other_running_tasks_reads_procs_running_without_this_process(tmp_path, running, expected):
    stat = tmp_path / "stat"
    stat.write_text(f"cpu  1 2 3 4\nprocs_running {running}\nprocs_blocked 0\n")
    assert cpus.other_running_tasks(stat, samples=3, interval=0) == expected


def test_other_running_tasks_is_zero_without_proc_stat(tmp_path):
    assert cpus.other_running_tasks(tmp_path / "missing") == 0


def test_use_available_cpus_adaptive_hooks_every_optimizer_once(monkeypatch):
    threads = torch.get_num_threads()
    monkeypatch.setattr(cpus, "available_cpus", lambda: 2)
    monkeypatch.setattr(cpus, "other_running_tasks", lambda: 0)
    try:
        assert use_available_cpus(adaptive=True) == 2 and torch.get_num_threads() == 2
        hook = cpus._hook
        assert hook is not None
        use_available_cpus(adaptive=True)
        assert cpus._hook is not hook, "a second call replaces the governor, not adds one"
        p = torch.nn.Parameter(torch.zeros(3))
        optimizer = torch.optim.SGD([p], lr=0.1)
        p.grad = torch.ones(3)
        optimizer.step()  # runs the hook without error
        use_available_cpus()
        assert cpus._hook is None
    finally:
        if cpus._hook is not None:
            cpus._hook.remove()
            cpus._hook = None
        torch.set_num_threads(threads)
