"""A sandbox for a submission's code: nbgrader's grading kernel runs inside it.

    python -I -m course_grader.sandbox --scratch DIR [--hide PATH]... [--memory 2G] [--processes 256]
                                    [--cpu 600] [--file-size 256M] [--uid-base 60000] -- CMD...

Without it, a learner's notebook runs with the grader's permissions: it can open gradebook.db,
read the hidden tests in source/ and the other students' submissions, use the network, start
processes until the machine stalls or take all its memory. Started as root, the launcher runs CMD

- in new mount, network, PID and IPC namespaces: no network at all (not even the host's
  127.0.0.1), no other process in sight, and a view of the files of its own: an empty tmpfs over
  /tmp, /var/tmp, /dev/shm and each hidden folder, /dev/null over each hidden file, every mount
  read-only, and the scratch directory the one place it can write (also its HOME and TMPDIR);
- in a memory and a pids cgroup of its own (memory, and processes plus threads, capped), made
  in the launcher's own cgroups as course-sandbox/<uid> and removed afterwards;
- as a user of its own (uid = uid base + n, no supplementary groups, no new privileges: setuid
  programs stay unprivileged), with RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_NPROC and no core dumps.

With COURSE_GRADING_DIR set (the class command; course_grader/protocol.py), the sandbox sees
that directory's entries at the same place, except flags.json; running.json, which the kernel
keeps current, is given to the sandbox's user. When CMD ends, the launcher says on stderr which
limit it hit, if any, and appends {"kind": "memory" | "processes" | "cpu", "detail": ...} to
COURSE_GRADING_DIR/flags.json, which the class command reports: from outside, where CMD cannot reach.

Not root, or no namespaces or cgroups (a container that forbids them): CMD runs with the rlimits
alone, as the same user, after a warning, and the flag {"kind": "not isolated"}. Grading never
fails because the sandbox is unavailable.

The launcher runs as root on the standard library alone; run it with `python -I` so that nothing
is imported from the working directory, which holds the learner's files. SandboxKernelManager
and sandboxed() (the grader's side, exercises/nbgrader_config.py) start nbgrader's grading kernel
inside it; they import jupyter_client and nbgrader only when first used.

The parts, each in a module of its own: limits (Limits, parse_size); linux (the system calls the
standard library lacks, SetupError); cgroups; view (the file-system view); grading_dir (what the
sandbox sees of COURSE_GRADING_DIR, and flags.json); processes (fork, exec, wait and the reports
up a pipe); launcher (run(): isolated, or with rlimits alone); kernel (the grader's side);
command_line (the launcher's arguments; __main__ runs it); zygote (a warm launcher that has
imported torch and forks a launcher for each kernel: the class command starts one per grading
run) and zygote_client (the launcher asking it).
"""
from course_grader.sandbox.cgroups import Cgroups
from course_grader.sandbox.cgroups import _own_cgroup  # noqa: F401 - tests/test_sandbox.py finds leftover cgroups with it
from course_grader.sandbox.grading_dir import record_flags
from course_grader.sandbox.kernel import grader_side, reference_files
from course_grader.sandbox.launcher import run, run_isolated, why_not_isolated
from course_grader.sandbox.limits import Limits, parse_size
from course_grader.sandbox.linux import SetupError
from course_grader.sandbox.processes import run_plain
from course_grader.sandbox.view import build_view

_GRADER_SIDE = ("SandboxKernelManager", "SandboxedExecute", "sandboxed")  # they import jupyter_client, nbgrader

__all__ = ["run", "run_isolated", "run_plain", "why_not_isolated", "record_flags", "Limits", "parse_size",
           "SetupError", "Cgroups", "build_view", "reference_files", *_GRADER_SIDE]


def __getattr__(name: str):
    if name in _GRADER_SIDE:
        return grader_side()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
