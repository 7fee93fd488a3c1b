"""The sandbox on cgroup v2 for real: one boot of a Debian 12 guest whose only cgroups are v2's
(scripts/cgroup_v2_vm.py, qemu) runs tests/cgroup_v2_guest.py, which runs tests/test_sandbox.py as
root, again as an unprivileged user in a cgroup delegated to it (as systemd does), and grades the
reference solution of 01_neurons with exercises/grade.py as that user.

It needs KVM with hardware virtualisation (vmx or svm among the CPU flags) and skips, saying why,
without it. A /dev/kvm without it (kvm_pvm, the nested KVM of some cloud sandboxes, this project's
build machine among them) cannot boot Debian's kernel. There COURSE_VM_ACCEL=tcg emulates the
guest (qemu's TCG) in the smoke scope: the sandbox tests that touch cgroups, the view and the
grading folder, as root and as the user, without the grading run. Measured on the build machine
under TCG: the smoke scope 4-8 minutes, the full one 10-11 minutes per user, where the grading
kernel misses nbgrader's 60 s start limit (torch's import alone takes over a minute): too slow for
CI's 30 minutes, hence no emulation unless asked. COURSE_VM_SCOPE=full|smoke chooses the scope.

Under CI=true with hardware KVM there, missing packages (`bash scripts/install_system_deps.sh vm`)
fail it. The first run builds the guest image (about 30 s) into ~/.cache/course-grader-vm/.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "cgroup_v2_vm.py"
sys.path.insert(0, str(SCRIPT.parent))
import cgroup_v2_vm as vm  # noqa: E402 - scripts/ is no package

NO_KVM = vm.kvm_problem()
ACCEL = os.environ.get("COURSE_VM_ACCEL") or "kvm"
SCOPE = os.environ.get("COURSE_VM_SCOPE") or ("full" if ACCEL == "kvm" else "smoke")
SKIP = NO_KVM if ACCEL == "kvm" else None
MISSING = vm.missing(kvm=False)  # the packages; KVM is NO_KVM's

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(SKIP), reason=f"needs {SKIP}"),
    pytest.mark.needs(not MISSING, "; ".join(MISSING) + " (bash scripts/install_system_deps.sh vm)"),
]


@pytest.fixture(scope="module")
def guest() -> dict:
    """One boot, every part: tests/cgroup_v2_guest.py's result, with its output and exit code."""
    env = [f"COURSE_DATA_DIR={os.environ['COURSE_DATA_DIR']}"] if os.environ.get("COURSE_DATA_DIR") else []
    timeout = 900 if ACCEL == "kvm" else 600 if SCOPE == "smoke" else 4 * 3600
    command = [sys.executable, str(SCRIPT), "run", f"--accel={ACCEL}", f"--timeout={timeout}",
               *(f"--env={pair}" for pair in env), "--cwd", str(ROOT), "--",
               sys.executable, str(ROOT / "tests" / "cgroup_v2_guest.py"), "everything" if SCOPE == "full" else "smoke"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 600)
    output = done.stdout + done.stderr
    print(output)  # each part's report, shown with -rA or when a test fails
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the guest gave no result (exit {done.returncode}):\n{output[-6000:]}"
    return {**json.loads(lines[-1].removeprefix("RESULT ")), "output": output, "code": done.returncode}


def test_the_guest_has_cgroup_v2_alone_with_memory_and_pids(guest):
    facts = guest["facts_root"]
    assert facts["root_controllers_file"], facts  # /sys/fs/cgroup/cgroup.controllers: the unified hierarchy
    assert facts["cgroup_filesystems"] == ["cgroup2"], facts  # no v1 hierarchy mounted
    assert {"memory", "pids"} <= set(facts["root_subtree_control"]), facts
    assert facts["uid"] == 0 and facts["cgroup"].startswith("0::/"), facts


def test_the_user_part_runs_unprivileged_in_a_cgroup_delegated_to_it(guest):
    user = guest["facts_user"]
    graded_by = guest.get("grade", {}).get("uid", user["uid"])  # the grading run, in the full scope
    assert user["uid"] != 0 and graded_by == user["uid"], (user, graded_by)
    assert user["cgroup"].startswith("0::/user-grader/run-") and user["group_owner"] == user["uid"], user
    assert user["group_writable"] and {"memory", "pids"} <= set(user["group_controllers"]), user
    assert user["userns"] == "0", f"unprivileged user namespaces refused: {user}"


def sandbox_report(part: dict) -> str:
    not_passed = {name: outcome for name, outcome in part["tests"].items() if outcome[0] != "passed"}
    return f"exit {part['code']}, {len(part['tests'])} tests, not passed: {json.dumps(not_passed, indent=1)}"


@pytest.mark.parametrize("who", ["root", "user"])
def test_every_sandbox_test_runs_and_passes_on_cgroup_v2(guest, who):
    part = guest[f"sandbox_{who}"]
    assert part["tests"], f"tests/test_sandbox.py did not run as {who}:\n{guest['output'][-6000:]}"
    if guest["scope"] == "smoke":  # each of them, as root and as the user
        assert len(part["tests"]) >= 5, sandbox_report(part)
    assert part["code"] == 0 and all(o[0] == "passed" for o in part["tests"].values()), sandbox_report(part)


@pytest.mark.skipif(SCOPE != "full", reason=f"the grading run is in the full scope (COURSE_VM_SCOPE=full); "
                                              f"here {ACCEL}, scope {SCOPE}")
def test_grade_py_grades_a_class_in_the_guest(guest):
    grade = guest["grade"]
    assert grade.get("code") == 0, grade
    scores = {row["student"]: row["score"] for row in grade["summary"]}
    assert scores == grade["expected"], grade["output"]
