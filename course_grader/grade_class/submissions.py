"""One student's submitted folder: can nbgrader read it, what did the student change, has it changed.

Also the kinds of flag the class command raises and one student's result, as it is reported
and recorded.
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_grader.protocol import flag

# What a submitted folder may hold: it is copied into the sandbox's scratch folder, a 512 MiB
# tmpfs (a page at least per file), beside what the kernel writes there.
MiB = 1024**2
MAX_FILES, MAX_FILE, MAX_TOTAL = 1000, 64 * MiB, 128 * MiB
MAX_DEPTH = 16  # folders within folders
MAX_NAME = 200  # bytes of a student's folder name: STUDENT.json and STUDENT.log must fit 255

# Kinds of flag that the class command raises; the grader's other parts add kinds of their own.
TIME_LIMIT, KILLED, MISSING, UNREADABLE, EDITED, GRADER_ERROR = (
    "time limit", "killed kernel", "missing", "unreadable", "edited tests", "grader error")


@dataclass
class Result:
    """One student's grading as reported (summary.json) and recorded (finished/STUDENT.json)."""
    student: str
    status: str  # "graded", "graded, parts skipped", "zero" or "grader error" (nothing recorded)
    reasons: list[str]  # the details of the flags below that are the class command's own
    score: float
    max_score: float
    needs_manual_grade: bool
    seconds: float
    flags: list[dict] = field(default_factory=list)  # {"kind", "detail"}

    def graded_elsewhere(self, score: float, max_score: float, needs_manual_grade: bool) -> Result:
        """This result with the gradebook's current score: a manual grade may have come since."""
        return Result(self.student, self.status, self.reasons, score, max_score, needs_manual_grade,
                      self.seconds, self.flags)


def submission_digest(course: Path, assignment: str, student: str) -> str:
    """sha256 of the submitted folder: every file's name and bytes (timestamp.txt included). Past
    the caps, or with a link or special file, names and sizes alone, nothing read (a link to
    /proc/kmsg stalled the read; thousands of large files took hours): check_files refuses it."""
    folder = course / "submitted" / student / assignment
    entries, problem = contents(folder)
    digest = hashlib.sha256()
    for name, info in entries:
        if problem is None:
            data = (folder / name).read_bytes()
            digest.update(f"{name}\0{len(data)}\0".encode())
            digest.update(data)
        else:
            digest.update(f"{name}\0mode {info.st_mode:o}, {info.st_size} bytes, changed {info.st_mtime_ns}\0".encode())
    if problem is not None:
        digest.update(problem.encode())
    return digest.hexdigest()


def contents(folder: Path) -> tuple[list[tuple[str, os.stat_result]], str | None]:
    """(the regular files below folder as (path relative to it, lstat), in order; why nbgrader must
    not copy the folder, or None). One walk, iterative, following no link, stopped at the first
    problem: a link or special file (FIFO, device, socket), which nbgrader, running as the grader,
    would follow or read; more entries, bytes or depth than the caps, which would not fit the
    sandbox's scratch tmpfs or would overflow a recursive copy."""
    files, count, total, stack = [], 0, 0, [("", 0)]
    if not folder.is_dir():  # nothing handed in: check_files says so
        return files, None
    while stack:
        relative, depth = stack.pop()
        with os.scandir(folder / relative) as found:
            children = sorted(found, key=lambda entry: entry.name)
        for entry in children:
            name = os.path.join(relative, entry.name)
            info = entry.stat(follow_symlinks=False)
            count += 1
            if stat.S_ISLNK(info.st_mode):
                return files, f"{name} is a link"
            if count > MAX_FILES:
                return files, f"more than {MAX_FILES} files and folders"
            if stat.S_ISDIR(info.st_mode):
                if depth + 1 >= MAX_DEPTH:
                    return files, f"{name}: folders nested more than {MAX_DEPTH} deep"
                stack.append((name, depth + 1))
                continue
            if not stat.S_ISREG(info.st_mode):
                return files, f"{name} is not a regular file"
            if info.st_size > MAX_FILE:
                return files, f"{name} holds {info.st_size / MiB:.0f} MiB, more than the {MAX_FILE // MiB} MiB a file may hold"
            total += info.st_size
            if total > MAX_TOTAL:
                return files, f"the files hold more than the {MAX_TOTAL // MiB} MiB a submission may hold"
            files.append((name, info))
    files.sort(key=lambda file: Path(file[0]).parts)  # the order of the digests recorded before
    return files, None


def name_problem(student: str) -> str | None:
    """Why the class command cannot grade a student folder by this name, or None. nbgrader reads
    --student as a pattern ("100?" matched student 1001, whose grade it then changed), and the
    class command's log and record files carry the name."""
    if any(c in student for c in "*?[]"):
        return (f"the folder submitted/{student} holds *, ?, [ or ], which nbgrader reads as a pattern matching "
                "other students: rename it")
    if len(student.encode()) > MAX_NAME:
        return f"the folder name submitted/{student[:40]}... is longer than {MAX_NAME} bytes: rename it"
    return None


def check_files(course: Path, assignment: str, student: str) -> tuple[dict | None, list[dict]]:
    """(a flag saying why nbgrader cannot read this submission at all, or None; flags of edited read-only cells)."""
    expected = sorted(p.name for p in (course / "source" / assignment).glob("*.ipynb"))
    folder = course / "submitted" / student / assignment
    for linked in (folder.parent, folder):  # another student's work, or anything, under this name
        if linked.is_symlink():
            return flag(UNREADABLE, f"{linked.relative_to(course)} is a link: hand in a folder of your own"), []
    found = sorted(p.name for p in folder.glob("*.ipynb"))
    missing = [name for name in expected if name not in found]
    if missing and len(missing) == len(expected):
        others = [name for name in found if name not in expected]
        if others:
            return flag(MISSING, f"{', '.join(missing)} not found; the folder holds {', '.join(others)}: "
                                 f"rename it to {missing[0]} and grade again"), []
        return flag(MISSING, f"{', '.join(missing)} not found in {folder.relative_to(course)}"), []
    odd = contents(folder)[1]
    if odd:
        return flag(UNREADABLE, f"{odd}: hand in regular files only"), []
    stamp = folder / "timestamp.txt"
    if stamp.exists():
        from nbgrader.utils import parse_utc
        try:
            parse_utc(stamp.read_text()[:200].strip())
        except Exception:  # noqa: BLE001 - nbgrader would fail on it the same way
            return flag(UNREADABLE, "timestamp.txt does not hold a date and time: fix or remove it"), []
    notes = []
    for name in (name for name in found if name in expected):
        try:
            submitted = nbformat.read(folder / name, as_version=4)
            nbformat.validate(submitted)
        except Exception as err:  # noqa: BLE001 - any unreadable file is the same problem
            return flag(UNREADABLE, f"{name} is not a readable notebook ({type(err).__name__}: {str(err)[:120]})"), []
        release = nbformat.read(course / "release" / assignment / name, as_version=4)
        broken = broken_metadata(release, submitted)
        if broken:
            return flag(UNREADABLE, f"{name}: {broken}: nbgrader cannot grade it; fix the notebook "
                                    f"(or start again from the release) and hand it in again"), []
        notes += edited_cells(release, submitted)
    return None, notes


def broken_metadata(release, submitted) -> str | None:
    """Why nbgrader would fail on the submitted notebook's grading metadata, or None: a cell id
    that appears twice (a copied cell), one the assignment does not have, or a graded cell whose
    type or points changed; or a notebook language that is not a string (nbconvert lowercases it)."""
    language = submitted.metadata.get("language")
    if language is not None and not isinstance(language, str):
        return f"the notebook's metadata gives its language as a {type(language).__name__}, not a string"

    def graded(nb):
        return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")]
    roles = ("grade", "solution", "locked")
    if any(not meta.get("grade_id") and any(meta.get(role) for role in roles)
           for meta in (c.metadata.get("nbgrader", {}) for c in submitted.cells)):
        return "a cell has an nbgrader role but no grade_id"
    expected = {c.metadata["nbgrader"]["grade_id"]: c for c in graded(release)}
    seen = set()
    for cell in graded(submitted):
        meta = cell.metadata["nbgrader"]
        key = meta["grade_id"]
        if key in seen:
            return f"cell {key} appears twice (a copied cell keeps its id)"
        seen.add(key)
        if key not in expected:
            return f"cell {key} is not a cell of this assignment"
        original = expected[key]
        if cell.cell_type != original.cell_type:
            return f"cell {key} was turned from {original.cell_type} into {cell.cell_type}"
        if meta.get("points") != original.metadata["nbgrader"].get("points"):
            return f"the points of cell {key} were changed"
        for role in ("grade", "solution", "locked"):
            if bool(meta.get(role)) != bool(original.metadata["nbgrader"].get(role)):
                return f"the nbgrader role of cell {key} was changed ({role})"
    return None


# The line a translated release adds to the setup cell (scripts/course_config.py setup_cell): not an edit
LANGUAGE_LINE = re.compile(r'^os\.environ\["COURSE_LANG"\] = "[a-z]{2}"\n', re.MULTILINE)


def edited_cells(release, submitted) -> list[dict]:
    """Read-only cells (tests, setup) the student changed or deleted; nbgrader restores them."""
    def locked(nb):
        return {c.metadata["nbgrader"].get("grade_id"): LANGUAGE_LINE.sub("", c.source, count=1) for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("locked")}
    theirs = locked(submitted)
    return [flag(EDITED, f"read-only cell {key} was {'deleted' if key not in theirs else 'edited'}: graded "
                         f"with the original") for key, source in locked(release).items() if theirs.get(key) != source]
