"""The sandbox on each kind of host, and what it keeps from the host (course_grader/sandbox/).

As a user that is not root (a launcher run inside a root sandbox, as its user), the sandbox is a
user namespace; where those are not allowed either, the program runs with rlimits alone and is
flagged "not isolated". Every kind of host hides the host's service sockets and bounds what the
program writes to its own stdout and stderr; as root, the scratch folder is a tmpfs of capped size.
The same tests run on cgroup v2 in a virtual machine (tests/test_cgroup_v2.py).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from sandbox_runs import LAUNCHER, PACKAGES_READABLE, ROOT, ROOT_USER, can_sandbox, kinds, launch

needs_isolation = pytest.mark.needs(can_sandbox(), "namespaces (root, or user namespaces allowed)")
needs_root = pytest.mark.needs(ROOT_USER, "root")

INSIDE = """
import json, os, socket
outcome = {{"uid": os.getuid(), "run": os.listdir("/run"), "home": os.path.isdir({home!r}) and os.listdir({home!r}),
            "capabilities": [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]}}
for name, path in [("open socket", {sock!r}), ("run socket", {run_sock!r})]:
    try:
        socket.socket(socket.AF_UNIX).connect(path)
        outcome[name] = "connected"
    except OSError as err:
        outcome[name] = type(err).__name__
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1)
    outcome["network"] = "connected"
except OSError as err:
    outcome["network"] = type(err).__name__
print(json.dumps(outcome))
"""


@pytest.fixture
def listening(tmp_path):
    """A service's socket in a folder every user may enter, outside /tmp and /run: the sandbox
    hides it all the same, found in /proc/net/unix."""
    folder = ROOT / ".pytest_cache" / f"sockets-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o777)
    service = socket.socket(socket.AF_UNIX)
    service.bind(str(folder / "service.sock"))
    os.chmod(folder / "service.sock", 0o777)  # anyone may connect: only the sandbox stops it
    service.listen()
    yield str(folder / "service.sock")
    service.close()
    (folder / "service.sock").unlink()
    folder.rmdir()


def as_sandbox_user(tmp_path, program: list[str], *launcher_options: str, prefix: list[str] = ()):
    """`program` run by a launcher that is not root, started inside a root sandbox as its user:
    (completed process, the inner launcher's flags). The inner launcher's grading directory lies
    in the outer one's, which the outer sandbox shares: its scratch folder is gone afterwards."""
    outer, grading = tmp_path / "outer", tmp_path / "grading"
    inner = outer / "inner"
    inner.mkdir(parents=True)
    (grading / "inner").mkdir(parents=True)
    (grading / "inner").chmod(0o777)
    command = [*prefix, *LAUNCHER, f"--scratch={inner}", *PACKAGES_READABLE, *launcher_options, "--", *program]
    done = subprocess.run([*LAUNCHER, "--scratch", str(outer), *PACKAGES_READABLE, "--", "env",
                           f"COURSE_GRADING_DIR={grading / 'inner'}", *command], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COURSE_GRADING_DIR": str(grading)})
    flags_file = grading / "inner" / "flags.json"
    return done, json.loads(flags_file.read_text()) if flags_file.exists() else []


@needs_isolation
@needs_root
def test_without_root_the_sandbox_is_a_user_namespace_without_capabilities(tmp_path, listening):
    """The grader's user: its home hidden, no capability over the view, no network, no sockets."""
    code = INSIDE.format(home=str(tmp_path / "outer"), sock=listening, run_sock="/run/none")
    done, flags = as_sandbox_user(tmp_path, [sys.executable, "-c", code])
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, done.stderr
    seen = json.loads(lines[-1])
    assert seen["capabilities"] == "0000000000000000", seen
    assert seen["run"] == [] and seen["network"] == "OSError", seen
    # /dev/null bound over it; or hidden with the folder it lies in (a clone under /tmp)
    assert seen["open socket"] in {"ConnectionRefusedError", "FileNotFoundError"}, seen
    assert seen["home"] == ["inner"], seen  # the grader's HOME (here the outer scratch): its scratch alone
    assert [f["kind"] for f in flags] == ["no cgroup"], flags  # cgroup v1: root alone makes cgroups
    assert "WARNING: no memory or process cap" in done.stderr, done.stderr


GRADING_FILES = """
import json, os
state, outcome = os.environ["COURSE_GRADING_DIR"], {}
for name in ("running.json", "poisoned.json", "seal/answer.pt", "new.json"):
    try:
        with open(os.path.join(state, name), "w") as f:
            f.write('{"calls": {}}')
        outcome[name] = "written"
    except OSError as err:
        outcome[name] = type(err).__name__
for name in ("poisoned.json", "seal"):
    try:
        os.rename(os.path.join(state, name), os.path.join(state, "seal", "moved"))
        outcome["move " + name] = "moved"
    except OSError as err:
        outcome["move " + name] = type(err).__name__
print(json.dumps(outcome))
"""


@needs_isolation
@needs_root
def test_without_root_the_kernel_cannot_rewrite_what_the_class_command_wrote_for_it(tmp_path):
    """The grader's own files in its grading folder (poisoned.json: the calls the kernel must skip)
    stay read-only for a kernel that runs as the grader's uid; running.json and the seal folder
    (mode 733) stay writable, as they are for a user of its own as root."""
    make = ["sh", "-c", 'cd "$COURSE_GRADING_DIR" && echo \'{"calls": {"sigmoid": "hung"}}\' > poisoned.json && '
            'mkdir -m 733 seal && exec "$@"', "make"]
    done, _ = as_sandbox_user(tmp_path, [sys.executable, "-c", GRADING_FILES], prefix=make)
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0 and lines, done.stderr
    assert json.loads(lines[-1]) == {"running.json": "written", "poisoned.json": "OSError",
                                     "seal/answer.pt": "written", "new.json": "OSError",
                                     "move poisoned.json": "OSError", "move seal": "OSError"}, lines[-1]
    grading = tmp_path / "grading" / "inner"
    assert (grading / "poisoned.json").read_text() == '{"calls": {"sigmoid": "hung"}}\n'
    assert (grading / "seal" / "answer.pt").exists() and not (grading / "new.json").exists()


@needs_isolation
@needs_root
def test_where_user_namespaces_are_forbidden_it_runs_with_rlimits_only_and_says_so(tmp_path):
    """A user who may not create user namespaces (a container's root without capabilities here):
    no isolation, a warning with the reason, the flag "not isolated", the CPU limit still held."""
    forbid = ["unshare", "--user", "--map-root-user", "sh", "-c",
              'echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv --inh-caps=-all --bounding-set=-all "$@"',
              "forbid"]
    done, flags = as_sandbox_user(tmp_path, [sys.executable, "-c", "while True:\n    pass"], "--cpu", "1",
                                  prefix=forbid)
    assert "WARNING: not isolated (user namespaces are not allowed here" in done.stderr, done.stderr
    assert done.stderr.count("WARNING") == 1
    assert done.returncode == 128 + 24, done.stderr  # SIGXCPU
    assert [f["kind"] for f in flags] == ["not isolated", "cpu"], flags


@needs_isolation
@needs_root
def test_user_namespaces_used_up_by_a_kernel_make_no_unconfined_run(tmp_path):
    """Without root a kernel runs as the grader's user, and the namespaces it makes count against
    that user's limit (user.max_user_namespaces): one that used them all up made the next
    launcher judge the host unable to isolate, and run the next student unconfined."""
    exhaust = ["unshare", "--user", "--map-root-user", "sh", "-c",
               "echo 1 > /proc/sys/user/max_user_namespaces && { unshare --user sleep 60 & } && sleep 0.5 && "
               'exec setpriv --inh-caps=-all --bounding-set=-all "$@"', "exhaust"]
    done, flags = as_sandbox_user(tmp_path, [sys.executable, "-c", "print('ran')"], prefix=exhaust)
    assert "ran" not in done.stdout and "WARNING: not isolated" not in done.stderr, done.stdout + done.stderr
    assert "SandboxError: the sandbox could not be built (no namespace can be made now" in done.stderr, done.stderr
    assert [f["kind"] for f in flags] == ["sandbox failed"], flags


@needs_isolation
def test_the_hosts_sockets_cannot_be_connected_to(tmp_path, listening):
    """Unix sockets under /run are hidden with it, and any other one the host listens on by
    /dev/null bound over it (a database, the Docker daemon, a desktop's session bus)."""
    run_sock = "/run/course-sandbox-test.sock"
    service = socket.socket(socket.AF_UNIX)
    try:
        service.bind(run_sock)
        service.listen()
    except OSError:
        run_sock = "/run/none"  # /run not writable by this user: its sockets are tested elsewhere
    try:
        done, seen, _ = launch(tmp_path, INSIDE.format(home="/nonexistent", sock=listening, run_sock=run_sock))
    finally:
        service.close()
        if run_sock != "/run/none":
            os.unlink(run_sock)
    assert seen is not None, done.stderr
    assert seen["open socket"] in {"ConnectionRefusedError", "FileNotFoundError"}, seen
    assert seen["run socket"] == "FileNotFoundError" and seen["run"] == [], seen


FLOOD = """
import os, sys
os.write(1, b"first line\\n")
for _ in range(800):
    os.write(2, b"e" * 65536)
    os.write(1, b"o" * 65536)
os.write(1, b"\\nlast line\\n")
"""


TERMINALS = """
import json, os
try:
    os.openpty()
    outcome = "opened"
except OSError as err:
    outcome = type(err).__name__
print(json.dumps({"pty": outcome, "pts": os.listdir("/dev/pts")}))
"""


@needs_isolation
def test_the_hosts_terminals_cannot_be_used_up(tmp_path):
    """/dev/ptmx is the host's: a kernel opening 4096 terminals left none for anyone on the machine."""
    done, result, _ = launch(tmp_path, TERMINALS)
    assert result == {"pty": "OSError", "pts": []}, (result, done.stderr)


KEYRINGS = """
import ctypes, json
libc = ctypes.CDLL(None, use_errno=True)
key = libc.syscall(248, b"user", b"left-for-the-next-student", b"answer", 6, -4)  # add_key to the user keyring
outcome = {"add_key": key if key == -1 else "added", "errno": ctypes.get_errno(),
           "keys": open("/proc/keys").read().splitlines()}
print(json.dumps(outcome))
"""


@needs_isolation
@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the program calls add_key by its x86_64 number")
def test_the_hosts_keyrings_are_closed_to_the_kernel(tmp_path):
    """Keyrings are the host's: a key added to uid 60000+n's user keyring waited there for the next
    student given that uid, and the session keyring inherited from the grader held its keys."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    graders = libc.syscall(248, b"user", b"the-graders-token", b"hunter2", 7, -3)  # the session keyring
    if graders == -1:
        pytest.skip(f"this host refuses keyrings to the grader too (errno {ctypes.get_errno()})")
    try:
        done, result, _ = launch(tmp_path, KEYRINGS)
    finally:
        libc.syscall(250, 3, graders)  # KEYCTL_REVOKE
    assert result is not None, done.stderr
    assert (result["add_key"], result["errno"]) == (-1, 1), result  # EPERM
    assert not any("the-graders-token" in key for key in result["keys"]), result


@needs_isolation
def test_a_flood_on_the_programs_own_output_reaches_the_grader_bounded(tmp_path):
    """50 MB on each of stdout and stderr: the launcher passes on the first and last 32 kB of each,
    and says how much it left out (nbgrader's log, which the class command reads, stays small)."""
    started = time.monotonic()
    done, _, flags = launch(tmp_path, FLOOD)
    assert done.returncode == 0, done.stderr[-2000:]
    assert time.monotonic() - started < 60
    assert len(done.stdout) < 70_000 and done.stdout.startswith("first line") and done.stdout.endswith("last line\n")
    left_out = 800 * 65536 + len("\nlast line\n") + len("first line\n") - 2 * 32 * 1024
    assert f"[course_grader.sandbox: {left_out} bytes of the program's output left out]" in done.stdout
    assert len(done.stderr) < 72_000 and "bytes of the program's output left out" in done.stderr
    assert kinds(flags) == []


FILL = """
import json, os
written = 0
try:
    with open("big.bin", "wb") as f:
        for _ in range(64):
            f.write(b"x" * 2**20)
            f.flush()
            written += 1
    outcome = "written"
except OSError as err:
    outcome = os.strerror(err.errno)
print(json.dumps({"outcome": outcome, "mib": written}))
"""


@needs_isolation
@needs_root
def test_the_scratch_folder_is_capped_and_the_cap_flagged(tmp_path):
    done, result, flags = launch(tmp_path, FILL, "--scratch-size", "16M")
    assert result is not None, done.stderr
    assert result["outcome"] == "No space left on device" and result["mib"] <= 16, result
    assert kinds(flags) == ["scratch"], flags
    assert not (tmp_path / "scratch" / "big.bin").exists()  # a tmpfs, gone with the sandbox
    assert not os.path.ismount(tmp_path / "scratch")


def test_on_macos_and_windows_grading_says_there_is_no_sandbox_and_what_to_do(tmp_path, monkeypatch):
    """The grader's side imports without the launcher's Linux modules, and starts the kernel without
    the launcher, saying why, what it means and where to grade instead, and flagging it."""
    blocked = ("import sys; sys.modules['resource'] = None; from course_grader.sandbox import sandboxed, "
               "unavailable_here; print(unavailable_here('win32'))")
    done = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("Windows has no Linux namespaces"), done.stderr
    from course_grader.sandbox import kernel
    why = kernel.unavailable_here("darwin")
    assert "macOS" in why and "gradebook" in why and "Linux container or VM" in why
    assert kernel.unavailable_here("linux") is None
    monkeypatch.setattr(kernel, "unavailable_here", lambda: why)
    monkeypatch.setenv("COURSE_GRADING_DIR", str(tmp_path))
    script = tmp_path / "start.py"
    script.write_text("import asyncio\nfrom course_grader.sandbox import kernel\n"
                      f"kernel.unavailable_here = lambda: {why!r}\n"
                      "async def main():\n"
                      "    km = kernel.grader_side()['SandboxKernelManager'](kernel_name='python3')\n"
                      "    await km.start_kernel(cwd=None)\n"
                      "    print('LAUNCHED', ' '.join(km.provisioner.process.args), flush=True)\n"
                      "    await km.shutdown_kernel(now=True)\n"
                      "asyncio.run(main())\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert "LAUNCHED" in done.stdout and "course_grader/sandbox/__main__.py" not in done.stdout, done.stdout + done.stderr
    assert f"WARNING: not isolated ({why})" in done.stderr
    assert [f["kind"] for f in json.loads((tmp_path / "flags.json").read_text())] == ["not isolated"]
