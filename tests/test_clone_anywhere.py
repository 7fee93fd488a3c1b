"""The course grades the same wherever it lies: in a clone under /tmp (which the sandbox hides) and
in one under a folder closed to others (mode 700, as home folders often are).

Each case copies the course's packages and exercises there and makes a virtual environment whose
course_lib and course_grader are the copy's, as `make setup`'s editable install does (the other
packages come from this environment), then grades the source's solutions of 01_neurons with the
class command: full marks, status "graded". Before the sandbox kept the packages readable, each
got 0 with only a ModuleNotFoundError in the student's log.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from nbgrader_course import ENV, NOT_COPIED, ROOT, points_of, run, submit

ASSIGNMENT = "01_neurons"


def clone_into(place: Path) -> Path:
    """The course's packages and exercises under place, with a venv of their own: its python."""
    course = place / "course"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for package in ("course_lib", "course_grader"):
        shutil.copytree(ROOT / package, course / package, ignore=ignore)
    shutil.copytree(ROOT / "exercises", course / "exercises", ignore=NOT_COPIED)
    venv = place / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # The copy on sys.path (an editable install of it), then this venv's packages, but not their
    # .pth files: this venv's own editable install would find the repository's course_lib, visible
    # in the sandbox, where a user's clone has only the one in the hidden folder.
    (site / "course.pth").write_text(f"{course}\n{sysconfig.get_paths()['purelib']}\n")
    return venv / "bin" / "python"


def grade_reference(python: Path, course: Path) -> dict:
    env = {**ENV, "PATH": f"{python.parent}:{ENV['PATH']}"}
    exercises = course / "exercises"
    where = subprocess.run([python, "-c", "import course_lib, course_grader; print(course_lib.__file__, course_grader.__file__)"],
                           cwd=exercises, capture_output=True, text=True, env=env, check=True).stdout
    assert where.count(str(course)) == 2, f"the venv does not import the copy: {where}"
    run([python, "-m", "nbgrader", "generate_assignment", ASSIGNMENT, "--force"], exercises)
    for student in ("alice", "bob"):
        submit(exercises, ASSIGNMENT, student, {})
    # bob by plain nbgrader: its kernel imports everything itself (the class command's warm
    # kernels have course_lib imported before they enter the sandbox)
    run([python, "-m", "nbgrader", "autograde", ASSIGNMENT, "--student", "bob"], exercises)
    done = subprocess.run([python, "grade.py", ASSIGNMENT, "--jobs", "1", "--student", "alice"], cwd=exercises,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = json.loads((exercises / "grading_logs" / ASSIGNMENT / "summary.json").read_text())
    scores = {row["student"]: row for row in rows}
    with Gradebook(f"sqlite:///{exercises / 'gradebook.db'}", course_id="dl-fundamentals") as gradebook:
        scores["bob"] = {"status": "graded", "score": gradebook.find_submission(ASSIGNMENT, "bob").score}
    return scores


def _closed_folder():
    """A folder of mode 700 outside /tmp: in the repository's build/ (ignored by git)."""
    (ROOT / "build").mkdir(exist_ok=True)
    return tempfile.TemporaryDirectory(prefix="closed-", dir=ROOT / "build")


@pytest.mark.parametrize("where", ["tmp", "closed"])
def test_a_clone_grades_the_reference_to_full_marks(where, tmp_path):
    with (_closed_folder() if where == "closed" else tempfile.TemporaryDirectory(dir=tmp_path)) as folder:
        place = Path(folder)
        assert place.stat().st_mode & 0o777 == 0o700
        python = clone_into(place)
        summary = grade_reference(python, place / "course")
    full = sum(points_of(ASSIGNMENT).values())
    assert summary["alice"]["status"] == "graded", summary
    assert summary["alice"]["score"] == summary["bob"]["score"] == full, summary
