"""What the sandbox's tests share (tests/test_sandbox.py, tests/test_sandbox_hosts.py): what this
host lets the sandbox do, and a program run in the launcher."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from course_grader.sandbox import cgroups_v2
from course_grader.sandbox.kernel import package_folders
from course_grader.sandbox.launcher import privileged

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = [sys.executable, "-I", "-m", "course_grader.sandbox"]
# As the kernel manager passes them: the course's packages stay readable where the repository lies
# in a hidden folder (a clone under /tmp).
PACKAGES_READABLE = [f"--readable={folder}" for folder in package_folders(["course_lib", "course_grader"])]
ROOT_USER = privileged()  # root with its capabilities: a user of its own, a tmpfs scratch folder


def can_sandbox() -> bool:
    """Namespaces: as root, or as any user where user namespaces are allowed."""
    flags = [] if ROOT_USER else ["--user", "--map-root-user"]
    probe = subprocess.run(["unshare", *flags, "--mount", "--net", "--pid", "--fork", "true"], capture_output=True)
    return sys.platform.startswith("linux") and probe.returncode == 0


def has_cgroups() -> bool:
    """Memory and process caps for the whole sandbox: cgroup v1 as root; cgroup v2 as root or in a
    subtree delegated to this user."""
    if cgroups_v2.unified():
        group = cgroups_v2.own_group()
        return os.access(os.path.join(group, "cgroup.subtree_control"), os.W_OK) and {"memory", "pids"} <= set(
            Path(group, "cgroup.controllers").read_text().split())
    return ROOT_USER and Path("/sys/fs/cgroup/memory").is_dir() and Path("/sys/fs/cgroup/pids").is_dir()


def launch(tmp_path: Path, code: str, *options: str, timeout: float = 240):
    """Run `python -c code` in the launcher: (completed process, its JSON result or None, flags)."""
    scratch, grading = tmp_path / "scratch", tmp_path / "grading"
    scratch.mkdir(exist_ok=True)
    grading.mkdir(exist_ok=True)
    env = {**os.environ, "COURSE_GRADING_DIR": str(grading)}
    done = subprocess.run([*LAUNCHER, "--scratch", str(scratch), *PACKAGES_READABLE, *options, "--", sys.executable,
                           "-c", code], env=env, capture_output=True, text=True, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else None
    flags_file = grading / "flags.json"
    flags = json.loads(flags_file.read_text()) if flags_file.exists() else []
    return done, result, flags


def kinds(flags: list[dict]) -> list[str]:
    """The flags' kinds, without "no cgroup", which a host without cgroups adds to every run."""
    return [f["kind"] for f in flags if f["kind"] != "no cgroup"]
