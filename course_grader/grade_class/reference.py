"""Before grading anyone, the assignment's own solution: graded in the same sandbox and
configuration as the students, it must get every autograded point. Otherwise the class command
stops before the first student and says why in one line: a course_lib the grading kernel cannot
import, a broken hidden test or a sandbox that cannot start would else give every student a zero.

The solution is graded in a course folder of its own with a gradebook of its own (both temporary),
so that it never appears among the students. A passed check is remembered in
grading_logs/ASSIGNMENT/reference.json with a digest of what it depends on (the source, the
configuration, course_lib and course_grader, the Python): it runs again only when one changes.
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from course_grader.grade_class.attempts import Attempts, autograde_until_graded
from course_grader.grade_class.run import Run
from course_grader.grade_class.runs import run_nbgrader
from course_grader.protocol import GradingDir, read_json, write_json

STUDENT = "reference-solution"
PACKAGES = ("course_lib", "course_grader")


def _package_folder(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    return Path(spec.submodule_search_locations[0]) if spec and spec.submodule_search_locations else None


def digest(run: Run) -> str:
    """sha256 of what the solution's grade depends on: change one, and the check runs again."""
    files = sorted((run.course / "source" / run.assignment).rglob("*")) + [run.course / "nbgrader_config.py"]
    for name in PACKAGES:
        folder = _package_folder(name)
        files += sorted(folder.rglob("*.py")) if folder else []
    h = hashlib.sha256("\0".join([sys.executable, *run.nbgrader_options]).encode())
    for path in (p for p in files if p.is_file()):
        h.update(f"{path}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def first_error(notebook: Path) -> str | None:
    """'Ename: evalue' of the first error output in a graded notebook."""
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception:  # noqa: BLE001 - no notebook, no error to show
        return None
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"{out.get('ename')}: {str(out.get('evalue'))[:200]}"
    return None


def explain(error: str | None) -> str:
    """The reason to print: where a package of the grader's is missing, the folder to make visible."""
    for name in PACKAGES:
        if error and error.startswith("ModuleNotFoundError") and f"'{name}'" in error:
            folder = _package_folder(name)
            return (f"{name} cannot be imported inside the sandbox: {folder} is not visible there "
                    f"(SandboxKernelManager.readable_packages in nbgrader_config.py)")
    return error or "no error shown: see the log"


def grade_solution(run: Run, log) -> str | None:
    """Grade the source notebook as a submission: None if it gets every autograded point, else why not."""
    with tempfile.TemporaryDirectory(prefix="course-reference-") as tmp:
        root = Path(tmp)
        source = run.course / "source" / run.assignment
        shutil.copytree(source, root / "source" / run.assignment)
        shutil.copytree(source, root / "submitted" / STUDENT / run.assignment)
        db_url = f"sqlite:///{root / 'gradebook.db'}"
        ours = [f"--CourseDirectory.root={root}", f"--CourseDirectory.db_url={db_url}"]
        options = [o for o in run.nbgrader_options if o.split("=")[0] not in ("--CourseDirectory.root",
                                                                                "--CourseDirectory.db_url")] + ours
        folder = root / "grading"
        folder.mkdir()
        code, text = run_nbgrader(["generate_assignment", run.assignment, "--force", *options], run.course,
                                  folder, run.time_limit, log)
        if code != 0:
            lines = [line for line in text.splitlines() if "Error" in line]
            return f"nbgrader generate_assignment failed: {lines[-1] if lines else f'exit code {code}'}"
        attempt = Attempts(STUDENT)
        failure = autograde_until_graded(dataclasses.replace(run, nbgrader_options=options), attempt,
                                         GradingDir(folder), log)
        error = first_error(root / "autograded" / STUDENT / run.assignment / f"{run.assignment}.ipynb")
        if failure:
            return f"{failure['kind']}: {failure['detail']}" + (f" ({explain(error)})" if error else "")
        with Gradebook(db_url, course_id=run.course_id) as gb:
            submission = gb.find_submission(run.assignment, STUDENT)
            got, top = submission.code_score, submission.max_code_score
            short = [g.name for nb in submission.notebooks for g in nb.grades
                     if g.cell_type == "code" and (g.score or 0) < (g.max_score or 0)]
        if got < top:
            return f"it gets {got:g} of {top:g} points (failing: {', '.join(short)}): {explain(error)}"
    return None


def check_reference(run: Run) -> str | None:
    """None when the assignment's solution gets every autograded point here (checked now, or by an
    earlier run with the same digest); else one line saying why not."""
    record, key = run.logs / "reference.json", digest(run)
    if read_json(record, {}).get("digest") == key:
        return None
    start = time.perf_counter()
    with open(run.logs / f"{STUDENT}.log", "w") as log:
        problem = grade_solution(run, log)
    if problem is None:
        write_json(record, {"digest": key, "seconds": round(time.perf_counter() - start, 1)})
        print(f"the assignment's own solution gets every point in the sandbox "
              f"({time.perf_counter() - start:.1f} s)", flush=True)
    return problem
