"""run(): CMD in the sandbox, or, on a host where none can be made at all, with the rlimits alone
after a warning; then the flags for the limits it hit. On a host that can make namespaces, a
sandbox that fails to build is an error: CMD does not run (a submission that breaks the sandbox's
set-up must not win a run without it)."""
from __future__ import annotations

import errno
import os
import pwd
import signal
import sys

from course_grader.sandbox.cgroups import make_cgroups
from course_grader.protocol import ENV as GRADING_ENV
from course_grader.sandbox.grading_dir import record_flags, remove_untouched_running, shared_entries
from course_grader.sandbox.limits import Limits, size_text
from course_grader.sandbox import user_namespace
from course_grader.sandbox.linux import NAMESPACES, SetupError, describe, read_file, unshare
from course_grader.sandbox.processes import Box, RunHere, remember_signal_mask, run_in_sandbox, run_plain, user_count
from course_grader.sandbox.scratch import mount_scratch, scratch_flags, unmount_scratch, unmount_when_killed
from course_grader.sandbox.view import HIDDEN_ALWAYS, give, outside_the_system

# What CMD (a grading kernel) may see of the grader's environment: an allow-list, so that an
# instructor's secrets (PGPASSWORD, cloud keys, the gradebook's URL) never reach a submission's
# code or its feedback. Caches and settings then default to places under HOME, the scratch folder.
PASSED = frozenset({"PATH", "LANG", "LANGUAGE", "TZ", "TERM", "LD_LIBRARY_PATH", "VIRTUAL_ENV",
                    "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "MPLBACKEND", "KERAS_BACKEND", "NBGRADER_EXECUTION"})
PASSED_PREFIXES = ("LC_", "COURSE_", "PYTHON", "OMP_", "MKL_", "OPENBLAS_", "GOMP_", "KMP_", "JPY_", "TORCH_")
# The grader's own, though they match the list: the zygote's socket (zygote.py) starts kernels.
NOT_PASSED = frozenset({"COURSE_SANDBOX_ZYGOTE", "PYTHONSTARTUP"})
FAILED = "sandbox failed"  # the flag of a sandbox that could not be built where one can be


def passed_environment(environ: dict) -> dict:
    """The allow-listed part of environ."""
    return {k: v for k, v in environ.items()
            if (k in PASSED or k.startswith(PASSED_PREFIXES)) and k not in NOT_PASSED}


def launcher_environment(environ: dict) -> dict:
    """What a launcher needs of its environment: the allow-list and HOME (the folder it hides
    without root). The zygote and the requests to it get this alone, so that no secret of the
    grader's lies in the memory a kernel forked from it inherits."""
    return {**passed_environment(environ), **({"HOME": environ["HOME"]} if "HOME" in environ else {})}


def run_isolated(cmd, env, scratch, hidden, limits: Limits, uid_base: int, run_here: RunHere | None = None,
                 readable: list[str] = (), pass_stdout: bool = False) -> tuple[dict, list[dict]]:
    """Run CMD in the sandbox: (how it ended, flags). Raises SetupError if no sandbox could be made.
    As root: a user of its own and a tmpfs scratch folder; otherwise a user namespace (see
    user_namespace.py). The memory and process caps need cgroups (cgroup v1 as root, or cgroup v2
    as root or in a delegated subtree): without, each process's data is capped and the sandbox
    flagged "no cgroup"."""
    root, cgroups, grading_dir, created_running, reaper = privileged(), None, env.get(GRADING_ENV), False, False
    notes = []
    try:
        try:
            cgroups = make_cgroups(limits, uid_base)
        except (SetupError, OSError) as err:
            notes.append({"kind": "no cgroup", "detail": f"{describe(err)}: memory is capped per process "
                                                         f"({size_text(limits.memory)}), processes per user"})
        uid = cgroups.uid if cgroups else uid_base + os.getpid() % 5000
        if not root:  # the grader's own files are the sandbox's too, unless hidden: its home folder
            hidden = [*hidden, *home_folders()]
        shared, read_only = [], []
        if grading_dir and os.path.isdir(grading_dir):
            grading_dir = os.path.realpath(grading_dir)
            shared, read_only, created_running = shared_entries(grading_dir, uid if root else None)
            hidden = [*hidden, grading_dir]
        if root:
            give(scratch, uid)
            mount_scratch(scratch, limits.scratch, uid)
            reaper = unmount_when_killed(scratch)
        nproc = limits.processes if root else user_count(os.getuid()) + limits.processes
        box = Box(uid, cgroups, not root, nproc)
        result = run_in_sandbox(cmd, env, scratch, hidden, shared, limits, box, run_here, [*readable, *read_only],
                                pass_stdout)
        flags = notes + (_cgroup_flags(cgroups, limits) if cgroups else [])
        return result, flags + (scratch_flags(scratch, limits.scratch) if reaper else []) + _cpu_flags(result, limits)
    except SetupError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever it is, grading goes on without the sandbox
        raise SetupError(describe(err)) from None
    finally:
        if reaper:
            unmount_scratch(scratch)
            os.kill(reaper, signal.SIGKILL)
            os.waitpid(reaper, 0)
        if cgroups:
            cgroups.remove()
        if created_running:
            remove_untouched_running(grading_dir)


def privileged() -> bool:
    """Root with the capabilities the sandbox needs as root: a container's root may lack them, and
    then builds the sandbox as a user does, in a user namespace."""
    if os.geteuid() != 0:
        return False
    for line in read_file("/proc/self/status").splitlines():
        if line.startswith("CapEff:"):
            caps = int(line.split()[1], 16)
            return all(caps >> bit & 1 for bit in (0, 6, 7, 21))  # CHOWN, SETGID, SETUID, SYS_ADMIN
    return False


def _cgroup_flags(cgroups, limits: Limits) -> list[dict]:
    flags, killed, refused = [], cgroups.oom_kills(), cgroups.processes_refused()
    if killed:
        flags.append({"kind": "memory", "detail": f"killed at the memory limit of {size_text(limits.memory)} "
                                                  f"({killed} process(es) ended by the OOM killer)"})
    if refused:
        flags.append({"kind": "processes", "detail": f"{refused} new processes or threads refused at the "
                                                     f"limit of {limits.processes}"})
    return flags


def home_folders() -> list[str]:
    """The grader's home folder(s): its keys, passwords and configuration."""
    homes = {os.environ.get("HOME", "")}
    try:
        homes.add(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        pass
    return [h for h in homes if h and os.path.isdir(h) and os.path.realpath(h) != "/"]


def _cpu_flags(result: dict, limits: Limits) -> list[dict]:
    if result["signal"] == signal.SIGXCPU or (result["signal"] == signal.SIGKILL and result["cpu"] >= limits.cpu):
        return [{"kind": "cpu", "detail": f"stopped after {limits.cpu} s of CPU time ({result['cpu']:g} s used)"}]
    return []


def kernel_reads(environ: dict) -> list[str]:
    """Folders the kernel reads wherever they lie, hidden or not: the course's data and the
    libraries of LD_LIBRARY_PATH."""
    found = [environ.get("COURSE_DATA_DIR", ""), *environ.get("LD_LIBRARY_PATH", "").split(os.pathsep)]
    return [p for p in found if p and os.path.isdir(p)]


def why_not_isolated() -> str | None:
    """Why this host cannot make a sandbox at all; None where it can (root with its capabilities,
    or a user namespace): tried in a child that makes the namespaces and exits. Raises SetupError
    where it could but cannot now: namespaces used up to their limit (user.max_user_namespaces, a
    count per user that a kernel running as the grader's user can fill) is no reason to run unconfined."""
    if not sys.platform.startswith("linux"):
        return f"namespaces and cgroups need Linux, not {sys.platform}"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            user_namespace.enter_as_root(NAMESPACES) if not privileged() else unshare(NAMESPACES)
        except BaseException as err:  # noqa: BLE001 - the reason goes to the parent
            number = getattr(err.__cause__ or err, "errno", None) or 0
            os.write(write, f"{number} {describe(err)}".encode()[:4000])
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as reason:
        number, _, why = reason.read().decode(errors="replace").partition(" ")
    os.waitpid(pid, 0)
    if why and int(number) in (errno.ENOSPC, errno.EUSERS, errno.ENOMEM, errno.EAGAIN) and _namespaces_allowed():
        raise SetupError(f"no namespace can be made now: {why}")
    return why or None


def _namespaces_allowed() -> bool:
    """Whether the limits let this user make namespaces at all (a limit of 0 forbids them, with the
    same error as a limit reached)."""
    try:
        return all(int(read_file(f"/proc/sys/user/max_{kind}_namespaces")) > 0 for kind in ("user", "mnt", "pid", "net"))
    except (OSError, ValueError):
        return True


def _failed(err: SetupError) -> int:
    """Where the host can isolate and the sandbox failed: CMD does not run unconfined. The kernel
    never starts, and the class command reports a grader error with this line."""
    print(f"course_grader.sandbox: SandboxError: the sandbox could not be built ({err}); the program was not run",
          file=sys.stderr)
    record_flags([{"kind": FAILED, "detail": f"the sandbox could not be built ({err}): not run"}])
    return 125


def run(cmd: list[str], scratch: str, hidden: list[str] = (), limits: Limits | None = None,
        uid_base: int = 60000, run_here: RunHere | None = None, readable: list[str] = (),
        pass_stdout: bool = False) -> int:
    """Run CMD in the sandbox, or with rlimits alone if there can be none; its exit code (128 +
    signal if killed). run_here: see processes.py (the zygote's forks). readable: folders that stay
    readable even inside a hidden folder (the course's packages, cloned under /tmp or a home folder)."""
    limits = limits or Limits()
    remember_signal_mask()
    scratch = os.path.realpath(scratch)
    hidden = [os.path.realpath(p) for p in (*HIDDEN_ALWAYS, *outside_the_system(), *hidden)]
    readable = [os.path.realpath(p) for p in (*readable, *kernel_reads(os.environ))]
    env = passed_environment(os.environ)
    env.update(HOME=scratch, TMPDIR=scratch, PWD=scratch)
    try:  # a host that can isolate never runs CMD unconfined, whatever breaks the set-up now
        why_not = why_not_isolated()
        if why_not is None:
            result, flags = run_isolated(cmd, env, scratch, hidden, limits, uid_base, run_here, readable, pass_stdout)
    except SetupError as err:
        return _failed(err)
    if why_not is not None:
        print(f"course_grader.sandbox: WARNING: not isolated ({why_not}): the code runs as this user, "
              "can read and write what it can, and is held only by CPU, file size and process limits",
              file=sys.stderr)
        result = run_plain(cmd, env, scratch, limits, run_here, pass_stdout)
        flags = [{"kind": "not isolated", "detail": why_not}, *_cpu_flags(result, limits)]
    record_flags(flags)
    return result["code"] if result["signal"] is None else 128 + result["signal"]
