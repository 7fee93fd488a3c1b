"""A sandbox for a submission's code: nbgrader's grading kernel runs inside it.

    python -I -m course_grader.sandbox --scratch DIR [--hide PATH]... [--memory 2G] [--processes 256]
                                    [--cpu 600] [--file-size 256M] [--uid-base 60000] -- CMD...

Without it, a learner's notebook runs with the grader's permissions: it can open gradebook.db,
read the hidden tests in source/ and the other students' submissions, use the network, start
processes until the machine stalls or take all its memory. The launcher runs CMD

- in new mount, network, PID and IPC namespaces: no network at all (not even the host's
  127.0.0.1), no other process in sight, and a view of the files of its own: an empty tmpfs over
  /tmp, /var/tmp, /dev/shm, /run and each hidden folder, /dev/null over each hidden file and over
  every Unix socket the host listens on, every mount read-only, and the scratch directory the one
  place it can write (also its HOME and TMPDIR);
- in a memory and a pids cgroup of its own (memory, and processes plus threads, capped), made
  in the launcher's own cgroups as course-sandbox/<uid> and removed afterwards: cgroup v1 as
  root, cgroup v2 as root or in a subtree delegated to the grader's user;
- as root: as a user of its own (uid = uid base + n, no supplementary groups), with a tmpfs of
  capped size as its scratch folder; as another user: in a user namespace, as an unprivileged
  user there, without any capability (user_namespace.py); no new privileges either way
  (setuid programs stay unprivileged), with RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_NPROC, no core dumps,
  and, without a memory cgroup, RLIMIT_DATA; with a session keyring of its own and no keyring
  call allowed (seccomp.py): the host's keyrings hold the grader's keys and outlive a sandbox;
- with its stdout and stderr bounded: the first and last 32 kB of each reach the grader.

With COURSE_GRADING_DIR set (the class command; course_grader/protocol.py), the sandbox sees
that directory's entries at the same place, except flags.json; running.json, which the kernel
keeps current, is given to the sandbox's user. When CMD ends, the launcher says on stderr which
limit it hit, if any, and appends {"kind": "memory" | "processes" | "cpu" | "scratch", "detail": ...}
to COURSE_GRADING_DIR/flags.json, which the class command reports: from outside, where CMD cannot
reach. Without cgroups, every run is flagged "no cgroup".

Where no namespace can be made (user namespaces forbidden and not root, a container that forbids
them): CMD runs with the rlimits alone, as the same user, after a warning, and the flag
{"kind": "not isolated"}. On macOS and Windows the grader's side starts the kernel without the
launcher, with that warning and flag. Where namespaces can be made but the sandbox fails to build
(a submission's files too many for the scratch tmpfs, say), CMD does not run at all: the flag
{"kind": "sandbox failed"}, and the class command reports a grader error.

The launcher runs on the standard library alone; run it with `python -I` so that nothing
is imported from the working directory, which holds the learner's files. SandboxKernelManager
and sandboxed() (the grader's side, exercises/nbgrader_config.py) start nbgrader's grading kernel
inside it; they import jupyter_client and nbgrader only when first used.

The parts, each in a module of its own: limits (Limits, parse_size); linux (the system calls the
standard library lacks, SetupError); cgroups (v1) and cgroups_v2; user_namespace (the sandbox
without root); view (the file-system view); scratch (the tmpfs scratch folder); output (CMD's
stdout and stderr, bounded); grading_dir (what the sandbox sees of COURSE_GRADING_DIR, and
flags.json); processes (fork, exec, wait and the reports up a pipe); launcher (run(): isolated,
or with rlimits alone); kernel (the grader's side);
command_line (the launcher's arguments; __main__ runs it); zygote (a warm launcher that has
imported torch and forks a launcher for each kernel: the class command starts one per grading
run) and zygote_client (the launcher asking it).
"""
import importlib

# Imported when first used: the launcher's modules need Linux (fork, rlimits, libc), and the grader's
# side must still import on macOS and Windows, to say there that there is no sandbox (kernel.py).
_WHERE = {"Cgroups": "cgroups", "_own_cgroup": "cgroups", "record_flags": "grading_dir", "run": "launcher",
          "run_isolated": "launcher", "why_not_isolated": "launcher", "Limits": "limits", "parse_size": "limits",
          "SetupError": "linux", "run_plain": "processes", "build_view": "view", "reference_files": "kernel",
          "unavailable_here": "kernel"}
_GRADER_SIDE = ("SandboxKernelManager", "SandboxedExecute", "sandboxed")  # they import jupyter_client, nbgrader

__all__ = [*_WHERE, *_GRADER_SIDE]


def __getattr__(name: str):
    if name in _GRADER_SIDE:
        return importlib.import_module("course_grader.sandbox.kernel").grader_side()[name]
    if name in _WHERE:
        return getattr(importlib.import_module(f"course_grader.sandbox.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
