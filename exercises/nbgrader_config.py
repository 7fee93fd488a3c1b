"""nbgrader configuration of the course's exercises. Run nbgrader from this folder (README.md)."""
import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

from course_grader import feedback
from course_grader.sealed_execute import SealedExecute
from course_lib.exercise_rules import REFERENCE_HELPERS, TOPICS

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "dl-fundamentals"
c.CourseDirectory.root = HERE
# A held SQLite lock waits up to 60 s instead of failing: grade.py autogrades students in parallel.
# NBGRADER_DB_URL, e.g. postgresql://grader@db.example.org/dl_fundamentals, puts the gradebook in a
# database server that several graders share (README.md, "Grading at scale").
c.CourseDirectory.db_url = (os.environ.get("NBGRADER_DB_URL")
                            or "sqlite:///" + os.path.join(HERE, "gradebook.db") + "?timeout=60")
# Where `nbgrader release_assignment` / `collect` exchange files on a shared JupyterHub.
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# Time limit per cell. Test cells call the learner's functions through
# course_lib.exercise_checks, which stops any one call after a few seconds, so this only ends
# top-level loops in a learner's own cells. nbgrader has no limit per notebook: the class command
# (python -m course_grader grade) adds one.
c.Execute.timeout = 30
c.Execute.interrupt_on_timeout = True
c.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",
    # One-line error messages: a traceback would show the lines of the hidden tests.
    "--InteractiveShell.xmode=Minimal",
    # Records which cell or graded function is running, so the class command can name the part
    # that killed or hung the kernel and skip it in the next attempt (course_grader/kernel_extension.py).
    "--IPKernelApp.extensions=course_grader.kernel_extension",
]

# A test cell the learner deleted is put back and run (nbgrader would silently skip it); an
# edited one is restored from the gradebook in any case.
c.OverwriteCells.add_missing_cells = True

# Feedback shows each test cell without its hidden part, and a written answer not graded by hand
# yet as "graded by hand later", not as 0 points (course_grader/feedback.py). Set for
# GenerateFeedback's exporter alone: the formgrader renders with a template of its own.
c.GenerateFeedback.preprocessors = [feedback.PendingGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests]
c.GenerateFeedback.HTMLExporter.template_name = feedback.TEMPLATE
c.GenerateFeedback.HTMLExporter.template_file = feedback.TEMPLATE_FILE
c.GenerateFeedback.HTMLExporter.extra_template_basedirs = feedback.TEMPLATE_DIRS

# nbgrader's autograde steps, with Execute replaced by SealedExecute: the hidden tests' verdict is
# reached in nbgrader's process, out of reach of the learner's code (course_grader/sealed.py).
c.Autograde.autograde_preprocessors = [SealedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]

# Every grading kernel runs in a sandbox (course_grader/sandbox/): as a user of its own, with no
# network, within the memory, process and CPU limits below, writing only to a scratch folder,
# and without sight of the hidden paths. It needs root; otherwise the kernel runs with rlimits
# alone and the class command reports the flag "not isolated". Keep these lines after the
# autograde_preprocessors above: sandboxed() wraps the Execute step found there.
from course_grader.sandbox import sandboxed  # noqa: E402

c.Autograde.autograde_preprocessors = sandboxed(c.Autograde.get("autograde_preprocessors"))
c.SandboxKernelManager.memory = "2G"  # swap included
c.SandboxKernelManager.processes = 256  # processes plus threads: torch starts one per core
c.SandboxKernelManager.cpu_seconds = 600  # per process; grade.py's --time-limit bounds the wall clock
c.SandboxKernelManager.uid_base = 60000  # each sandbox runs as a user of its own, 60000-64999
# The whole course (gradebook.db, source/ with the hidden tests, submitted/, autograded/ ...),
# the repository's history, and the exchange, where every student's handed-in work waits.
c.SandboxKernelManager.hidden_paths = [HERE, os.path.join(os.path.dirname(HERE), ".git"), c.Exchange.root]
# course_lib's reference answers, and the grader's stand-ins for graded names (the replay gets
# their source from the grader when a test may use them): a notebook can neither import nor read
# them. The hidden tests never need them in the kernel (course_grader/sealed.py judges answers in
# nbgrader's process).
c.SandboxKernelManager.hidden_reference_modules = [
    *(f"course_lib.{name}" for name in (*TOPICS, *REFERENCE_HELPERS)), "course_grader.stand_ins"]
