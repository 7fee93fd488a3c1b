"""The program tests/test_cgroup_v2.py runs inside the cgroup v2 guest (scripts/cgroup_v2_vm.py), as
root, so that one boot serves every check: what the guest's cgroups are, tests/test_sandbox.py as
root and again as the unprivileged user in its delegated cgroup, and one grading run of
exercises/grade.py by that user. Each part's output streams as it runs; the last line is
RESULT <json>, what the test module reads.

    python tests/cgroup_v2_guest.py          everything (as root, in the guest)
    python tests/cgroup_v2_guest.py smoke    the same, with the sandbox tests that touch cgroups, the
                                             view and the grading folder alone and no grading run:
                                             what fits in a few minutes under emulation (qemu's TCG)
    python tests/cgroup_v2_guest.py facts    this process's user, cgroup and user namespaces, as JSON
    python tests/cgroup_v2_guest.py grade    a copy of exercises/ under /tmp, graded; JSON
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CGROUPS = Path("/sys/fs/cgroup")
MARK = "RESULT "
AS_USER = ["vm-as-user"]  # scripts/cgroup_v2_vm_guest.sh: the user, in its delegated cgroup
ASSIGNMENT = "01_neurons"
# Under emulation, the sandbox tests that need cgroups (memory, processes) or a view: one way of
# launching each (the zygote's forks are the launcher's code too).
SMOKE = "launcher and not zygote and (process_flood or memory_bomb or grading_directory or writable_place or signals)"


def read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as err:
        return f"{type(err).__name__}: {err}"


def facts() -> dict:
    own = read(Path("/proc/self/cgroup"))
    group = CGROUPS / own.partition("::")[2].lstrip("/")
    with open("/proc/mounts") as mounts:
        kinds = sorted({line.split()[2] for line in mounts if line.split()[2].startswith("cgroup")})
    userns = subprocess.run(["unshare", "--user", "--map-root-user", "id", "-u"], capture_output=True, text=True)
    return {"uid": os.getuid(), "kernel": os.uname().release, "cgroup": own, "cgroup_filesystems": kinds,
            "root_controllers_file": (CGROUPS / "cgroup.controllers").exists(),
            "root_subtree_control": read(CGROUPS / "cgroup.subtree_control").split(),
            "group_controllers": read(group / "cgroup.controllers").split(), "group_owner": group.stat().st_uid,
            "group_writable": os.access(group / "cgroup.subtree_control", os.W_OK),
            "userns_clone": read(Path("/proc/sys/kernel/unprivileged_userns_clone")),
            "userns": (userns.stdout or userns.stderr).strip()}


def outcomes(junit: Path) -> dict:
    """test id -> [outcome, message] from pytest's JUnit XML."""
    found = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        name = f"{case.get('classname', '').rpartition('.')[2]}::{case.get('name')}"
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            element = case.find(tag)
            if element is not None:
                outcome, message = tag, (element.get("message") or "")[:300]
                break
        found[name] = [outcome, message]
    return found


def banner(text: str) -> None:
    print(f"\n===== cgroup_v2_guest: {text}", flush=True)


def sandbox_tests(name: str, prefix: list[str], select: str | None) -> dict:
    junit = Path(tempfile.gettempdir()) / f"sandbox-{name}.xml"
    command = [*prefix, sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
               f"--junitxml={junit}", "tests/test_sandbox.py", *(["-k", select] if select else [])]
    banner(f"tests/test_sandbox.py as {name}: {' '.join(command)}")
    started = time.monotonic()
    code = subprocess.run(command, cwd=ROOT).returncode
    tests = outcomes(junit) if junit.exists() else {}
    return {"code": code, "seconds": round(time.monotonic() - started, 1), "tests": tests}


def json_of(command: list[str]) -> dict:
    """Run a part of this program (as another user): its output streams, its last line is JSON."""
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    lines = done.stdout.strip().splitlines()
    print("\n".join(lines[:-1]), flush=True)
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"code": done.returncode, "error": "no JSON result", "output": done.stdout[-2000:]}


def grade() -> dict:
    """The reference solution and a blank notebook handed in, graded by grade.py as an instructor would."""
    sys.path.insert(0, str(ROOT / "tests"))
    from nbgrader_course import ENV, PYTHON, new_course, submit_kind
    started = time.monotonic()
    course = new_course(Path(tempfile.mkdtemp(prefix="cgroup-v2-course-")), ASSIGNMENT)
    expected = {student: submit_kind(course, ASSIGNMENT, student, student) for student in ("reference", "blank")}
    done = subprocess.run([PYTHON, "grade.py", ASSIGNMENT, "--jobs", "2"], cwd=course, env=ENV,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1200)
    print(done.stdout, flush=True, file=sys.stderr)
    summary_file = course / "grading_logs" / ASSIGNMENT / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else []
    return {"uid": os.getuid(), "code": done.returncode, "seconds": round(time.monotonic() - started, 1),
            "expected": expected, "summary": summary, "output": done.stdout[-6000:]}


def everything(smoke: bool = False) -> dict:
    result = {"facts_root": facts(), "scope": "smoke" if smoke else "full"}
    banner("the unprivileged user's view")
    result["facts_user"] = json_of([*AS_USER, sys.executable, __file__, "facts"])
    print(json.dumps(result, indent=1), flush=True)
    result["sandbox_root"] = sandbox_tests("root", [], SMOKE if smoke else None)
    result["sandbox_user"] = sandbox_tests("user", AS_USER, SMOKE if smoke else None)
    if not smoke:
        banner(f"exercises/grade.py {ASSIGNMENT} --jobs 2, as the unprivileged user")
        result["grade"] = json_of([*AS_USER, sys.executable, __file__, "grade"])
    return result


if __name__ == "__main__":
    part = sys.argv[1] if len(sys.argv) > 1 else "everything"
    outcome = {"facts": facts, "grade": grade, "everything": everything,
               "smoke": lambda: everything(smoke=True)}[part]()
    print((MARK if part in ("everything", "smoke") else "") + json.dumps(outcome), flush=True)
