"""The gradebook in PostgreSQL: grade.py --db-url, nbgrader export and NBGRADER_DB_URL against a real server.

The module fixture starts a throwaway PostgreSQL server of its own (Debian's package, which
scripts/install_system_deps.sh installs): initdb into a temporary folder as the unprivileged
`postgres` user, a free port on 127.0.0.1 with password authentication, the unix socket in the same
folder; stopped and deleted at the end. Without PostgreSQL the tests skip, and fail in CI (CI=true).
Then a temporary copy of exercises/ (as test_nbgrader_pipeline.py builds it) grades three
submissions of 01_neurons with `grade.py --db-url postgresql://... --jobs 2`.
"""
from __future__ import annotations

import csv
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from nbgrader_course import ENV, NBGRADER, PYTHON, ROOT, new_course, run, submit_kind

pytestmark = pytest.mark.slow

ASSIGNMENT = "01_neurons"
KINDS = ["reference", "blank", "partial"]  # one student of each, named after it


def postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/VERSION/bin (Debian's layout), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: float(p.parts[-3]))
    return found[-1].parent if found else None


def postgres_or_skip() -> Path:
    if postgres_bin() is None:
        done = subprocess.run(["bash", str(ROOT / "scripts" / "install_system_deps.sh"), "postgresql"],
                              capture_output=True, text=True, check=False)
        if postgres_bin() is None:
            reason = f"PostgreSQL is not installed and could not be: {done.stderr.strip() or done.stdout.strip()}"
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
    return postgres_bin()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """postgresql://postgres:PASSWORD@127.0.0.1:PORT/gradebook on a server started for this module."""
    bin_dir = postgres_or_skip()
    folder = Path(tempfile.mkdtemp(prefix="course-postgres-"))  # not pytest's: it must be the postgres user's
    password = secrets.token_hex(8)
    (folder / "password").write_text(password)
    as_postgres = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        for path in (folder, folder / "password"):
            shutil.chown(path, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()

    def postgres(tool: str, *args: str) -> None:
        done = subprocess.run([*as_postgres, str(bin_dir / tool), *args], capture_output=True, text=True,
                              timeout=120, check=False)
        assert done.returncode == 0, f"{tool} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"

    try:
        postgres("initdb", "-D", str(data), "-U", "postgres", f"--pwfile={folder / 'password'}",
                 "--auth-host=scram-sha-256", "--auth-local=trust", "--no-sync", "-E", "UTF8", "--locale=C")
        postgres("pg_ctl", "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60", "start", "-o",
                 f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off")
        try:
            postgres("createdb", "-h", str(folder), "-p", str(port), "-U", "postgres", "gradebook")
            yield f"postgresql://postgres:{password}@127.0.0.1:{port}/gradebook"
        finally:
            postgres("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def graded(postgres_url, tmp_path_factory) -> dict:
    db_option = f"--CourseDirectory.db_url={postgres_url}"
    course = new_course(tmp_path_factory.mktemp("postgres"), ASSIGNMENT, (db_option,))
    expected = {kind: submit_kind(course, ASSIGNMENT, kind, kind) for kind in KINDS}
    output = run([PYTHON, "grade.py", ASSIGNMENT, "--jobs", "2", "--db-url", postgres_url], course)
    return {"course": course, "url": postgres_url, "expected": expected, "output": output}


def test_grades_land_in_postgresql(graded):
    from nbgrader.api import Gradebook
    with Gradebook(graded["url"], course_id="dl-fundamentals") as gb:
        scores = {kind: gb.find_submission(ASSIGNMENT, kind).score for kind in KINDS}
    assert scores == graded["expected"], graded["output"]
    assert not (graded["course"] / "gradebook.db").exists(), "something used the SQLite gradebook"


def test_nbgrader_export_reads_the_same_scores_from_postgresql(graded):
    run([*NBGRADER, "export", f"--CourseDirectory.db_url={graded['url']}", "--to", "grades.csv"], graded["course"])
    with open(graded["course"] / "grades.csv") as f:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    assert exported == graded["expected"]


def test_nbgrader_config_takes_the_database_from_NBGRADER_DB_URL(graded):
    done = subprocess.run([*NBGRADER, "db", "student", "list"], cwd=graded["course"], capture_output=True,
                          text=True, timeout=120, env={**ENV, "NBGRADER_DB_URL": graded["url"]}, check=True)
    assert "There are 3 students in the database" in done.stdout + done.stderr
    assert not (graded["course"] / "gradebook.db").exists()


def test_the_database_password_is_in_no_output_or_log(graded):
    from sqlalchemy.engine import make_url
    password = make_url(graded["url"]).password
    assert password not in graded["output"]
    for log in (graded["course"] / "grading_logs" / ASSIGNMENT).rglob("*.*"):
        if log.suffix in (".log", ".json"):
            assert password not in log.read_text(), log
