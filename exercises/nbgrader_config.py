# nbgrader configuration of the course's exercises. Run nbgrader from this folder (README.md).
import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "dl-fundamentals"
c.CourseDirectory.root = HERE
# A held SQLite lock waits up to 60 s instead of failing: grade.py autogrades students in parallel.
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db") + "?timeout=60"
# Where `nbgrader release_assignment` / `collect` exchange files on a shared JupyterHub.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# Time limit per cell. Test cells call the learner's functions through
# course_lib.exercise_checks, which stops any one call after a few seconds, so this only ends
# top-level loops in a learner's own cells. nbgrader has no limit per notebook: grade.py adds one.
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True
c.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",
    # One-line error messages: a traceback would show the lines of the hidden tests.
    "--InteractiveShell.xmode=Minimal",
    # Records which cell or graded function is running, so grade.py can name the part that
    # killed or hung the kernel and skip it in the next attempt (course_lib/exercise_checks.py).
    "--IPKernelApp.extensions=course_lib.exercise_checks",
]

# A test cell the learner deleted is put back and run (nbgrader would silently skip it); an
# edited one is restored from the gradebook in any case.
c.OverwriteCells.add_missing_cells = True

# Feedback shows each test cell without its hidden part.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests]
