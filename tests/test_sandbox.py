"""course_grader/sandbox/: the sandbox around a submission's grading kernel.

Each test runs a small Python program in the launcher and reads what it printed (its last line,
JSON) and the flags the launcher appended to COURSE_GRADING_DIR/flags.json. The isolation tests
need root, namespaces and cgroups (v1), and are skipped without them (under CI=true they fail); each runs twice, with the
launcher on its own and with the launcher handing over to a zygote (exercises/grade.py's way),
whose fork runs the program in its own process. The fallback test runs the launcher as an
unprivileged user. The last test grades a hostile submission with the real nbgrader
(slow: about 30 s).
"""
from __future__ import annotations

import errno
import importlib.util
import json
import os
import pwd
import py_compile
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from course_grader import sandbox
from course_grader.sandbox import cgroups_v2, zygote
from sandbox_runs import LAUNCHER, ROOT, ROOT_USER, can_sandbox, has_cgroups, kinds, launch

# Skipped where the machine cannot isolate; under CI=true such a machine fails these tests (conftest.py).
needs_isolation = pytest.mark.needs(can_sandbox(), "namespaces (root, or user namespaces allowed)")
needs_cgroups = pytest.mark.needs(has_cgroups(), "cgroups (v1 as root; v2 as root or delegated)")
needs_root = pytest.mark.needs(ROOT_USER, "root (a tmpfs scratch folder)")


@pytest.fixture(scope="module")
def zygote_socket(tmp_path_factory):
    """A zygote (course_grader/sandbox/zygote.py), as exercises/grade.py starts one: its socket."""
    path = tmp_path_factory.mktemp("zygote") / "socket"
    process = subprocess.Popen([sys.executable, "-I", zygote.__file__, str(path)])
    yield str(path)
    process.kill()
    process.wait()


@pytest.fixture(params=["launcher", "zygote"])
def via(request, monkeypatch):
    """Each sandbox test twice: the launcher on its own, and the launcher handing over to a zygote,
    whose fork runs the program in its own process (run_here)."""
    if request.param == "zygote":
        monkeypatch.setenv(zygote.ENV, request.getfixturevalue("zygote_socket"))
    return request.param


def processes_of(uid: int) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                found.append(int(pid))
        except OSError:
            pass
    return found


def assert_cgroups_removed(uid: int) -> None:
    if cgroups_v2.unified():
        groups = [Path(cgroups_v2.own_group()) / "course-sandbox" / str(uid)]
    else:
        groups = [Path(sandbox._own_cgroup(c)) / "course-sandbox" / str(uid) for c in ("memory", "pids")]
    for group in groups:
        assert not group.exists(), f"{group} left behind"


# 200 tries: the limit (64 here) passed three times over. A fork refused at the limit still copies
# the whole process first (40-80 ms with torch imported, in the zygote's fork): 3000 tries took 90 s.
FLOOD = """
import json, os, time
started = refused = 0
for _ in range(200):
    try:
        pid = os.fork()
    except OSError:
        refused += 1
        continue
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    started += 1
print(json.dumps({"started": started, "refused": refused, "uid": os.getuid()}))
"""


@needs_isolation
@needs_cgroups
def test_a_process_flood_stops_at_the_process_limit(tmp_path, via):
    done, result, flags = launch(tmp_path, FLOOD, "--processes", "64")
    assert done.returncode == 0, done.stderr  # the program ended by itself, sleeping children and all
    assert result["started"] < 64 and result["refused"] > 130, result
    assert kinds(flags) == ["processes"], flags
    assert "course_grader.sandbox: processes limit reached: " in done.stderr
    assert not processes_of(result["uid"]), "processes of the sandbox outlived it"
    assert_cgroups_removed(result["uid"])


MEMORY_BOMB = """
import json, os
print(json.dumps({"uid": os.getuid()}), flush=True)
chunks = []
for step in range(30):  # 3 GiB in 100 MiB steps
    chunks.append(b"x" * (100 * 1024 * 1024))
print(json.dumps({"survived": len(chunks)}))
"""


@needs_isolation
@needs_cgroups
def test_a_memory_bomb_is_killed_at_the_memory_limit(tmp_path, via):
    done, result, flags = launch(tmp_path, MEMORY_BOMB, "--memory", "1G")
    assert done.returncode == 128 + 9, (done.returncode, done.stdout, done.stderr)
    assert "survived" not in done.stdout
    assert kinds(flags) == ["memory"], flags
    assert "1 GiB" in flags[0]["detail"]
    assert_cgroups_removed(result["uid"])


@needs_isolation
def test_an_endless_loop_is_stopped_at_the_cpu_limit(tmp_path, via):
    done, _, flags = launch(tmp_path, "while True:\n    pass", "--cpu", "1")
    assert done.returncode == 128 + 24, (done.returncode, done.stderr)  # SIGXCPU
    assert kinds(flags) == ["cpu"], flags


FILE_SIZE = """
import json
try:
    with open("big", "wb") as f:
        f.write(bytes(2 * 1024 * 1024))
    result = "written"
except OSError as err:
    result = err.errno
print(json.dumps({"result": result}))
"""


@needs_isolation
def test_a_file_past_the_size_limit_fails_to_write_and_the_program_goes_on(tmp_path, via):
    done, result, _ = launch(tmp_path, FILE_SIZE, "--file-size", "1M")
    assert result == {"result": errno.EFBIG}, (result, done.returncode, done.stderr)  # not killed by SIGXFSZ


NETWORK = """
import json, socket, sys
outcome = {}
for name, address in [("host", ("127.0.0.1", int(sys.argv[1]))), ("internet", ("1.1.1.1", 53))]:
    try:
        socket.create_connection(address, timeout=3).close()
        outcome[name] = "connected"
    except OSError as err:
        outcome[name] = type(err).__name__
print(json.dumps(outcome))
"""


@needs_isolation
def test_no_network_not_even_the_hosts_localhost(tmp_path, via):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=3).close()  # reachable from outside
        code = NETWORK.replace("int(sys.argv[1])", str(port))
        done, result, flags = launch(tmp_path, code)
    assert result == {"host": "OSError", "internet": "OSError"}, (result, done.stderr)
    assert kinds(flags) == []


FILES = """
import json, os, pwd
course, secret, public = {course!r}, {secret!r}, {public!r}
outcome = {{}}

def attempt(name, action):
    try:
        outcome[name] = action()
    except OSError as err:
        outcome[name] = type(err).__name__

def write(path):
    with open(path, "a") as f:
        f.write("learner was here")
    return "written"

attempt("write scratch", lambda: write("notes.txt"))
attempt("write /tmp", lambda: write("/tmp/probe"))
attempt("write /dev/shm", lambda: write("/dev/shm/probe"))
attempt("write repository", lambda: write({repo_probe!r}))
attempt("write root's home", lambda: write(os.path.join(pwd.getpwuid(0).pw_dir, "probe")))
attempt("write course", lambda: write(os.path.join(course, "probe")))
attempt("write gradebook", lambda: write(os.path.join(course, "gradebook.db")))
attempt("read gradebook", lambda: open(os.path.join(course, "gradebook.db")).read())
attempt("list students", lambda: os.listdir(os.path.join(course, "submitted")))
attempt("read other student", lambda: open(os.path.join(course, "submitted", "bob", "01_neurons.ipynb")).read())
attempt("read hidden file", lambda: open(secret).read())
attempt("read public file", lambda: open(public).read())
attempt("list course", lambda: os.listdir(course))
attempt("home", lambda: os.environ["HOME"] == os.getcwd())
print(json.dumps(outcome))
"""


@pytest.fixture
def open_dir():
    """A folder every user can read, outside /tmp (which the sandbox hides whole): what the
    sandbox hides there is hidden by --hide alone."""
    parent = ROOT / ".pytest_cache"
    parent.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="sandbox-", dir=parent))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


@needs_isolation
def test_the_only_writable_place_is_scratch_and_hidden_paths_cannot_be_read(tmp_path, via, open_dir):
    course = open_dir / "course"
    (course / "submitted" / "bob").mkdir(parents=True)
    (course / "gradebook.db").write_text("GRADES")
    (course / "submitted" / "bob" / "01_neurons.ipynb").write_text("BOB'S ANSWERS")
    (open_dir / "answers.py").write_text("ANSWERS")
    (open_dir / "public.py").write_text("PUBLIC")
    repo_probe = ROOT / "sandbox_probe.txt"
    code = FILES.format(course=str(course), secret=str(open_dir / "answers.py"), public=str(open_dir / "public.py"),
                        repo_probe=str(repo_probe))
    # --readable: the folder stays visible also where the repository lies in /tmp (hidden whole)
    done, result, flags = launch(tmp_path, code, f"--readable={open_dir}", f"--hide={course}",
                                 f"--hide={open_dir / 'answers.py'}")
    assert result is not None, done.stderr
    assert result.pop("read public file") == "PUBLIC"  # what is not hidden stays readable
    assert result.pop("write scratch") == "written"
    assert result.pop("home") is True
    assert result.pop("read hidden file") == ""  # a hidden file reads as /dev/null
    assert result.pop("list course") == []  # a hidden folder is an empty tmpfs
    refused = {"OSError", "PermissionError", "FileNotFoundError"}
    assert all(value in refused for value in result.values()), result
    # As root the scratch folder is a tmpfs: what the sandbox wrote there never reaches the disk.
    assert (tmp_path / "scratch" / "notes.txt").exists() != ROOT_USER
    assert (course / "gradebook.db").read_text() == "GRADES"
    assert not repo_probe.exists() and not (course / "probe").exists()
    assert not Path(pwd.getpwuid(0).pw_dir, "probe").exists()
    assert kinds(flags) == []


ELSEWHERE = """
import json, os
outcome = {{"data": sorted(os.listdir({data!r})) == {data_listing!r}}}
for path in {copies!r}:
    try:
        outcome[path] = open(path).read()
    except OSError as err:
        outcome[path] = type(err).__name__
print(json.dumps(outcome))
"""


@needs_isolation
@needs_root
def test_other_copies_of_the_course_on_the_machine_cannot_be_read_but_the_data_can(tmp_path, monkeypatch):
    """Only this course's folders were hidden: a worktree or last year's copy elsewhere (attack
    review: /work/wt-lab's source/ and reference answers) was readable. Every folder at / but the
    system's is hidden; the Python, the course's packages and COURSE_DATA_DIR are bound back."""
    copies = []
    for top in ("srv", "home", "var", "opt-course-test"):  # the last: a machine's own folder at /
        folder = Path("/", top, f"course-sandbox-test-{os.getpid()}")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "solutions.ipynb").write_text("SOLUTIONS")
        folder.chmod(0o755)
        copies.append(folder)
    data = tmp_path / "data"
    (data / "MNIST").mkdir(parents=True)
    monkeypatch.setenv("COURSE_DATA_DIR", str(data))
    try:
        done, result, _ = launch(tmp_path, ELSEWHERE.format(data=str(data), data_listing=["MNIST"],
                                                            copies=[str(c / "solutions.ipynb") for c in copies]))
    finally:
        for folder in copies:
            shutil.rmtree(folder)
        Path("/opt-course-test").rmdir()
    assert result is not None, done.stderr
    assert result.pop("data") is True, result
    assert set(result.values()) == {"FileNotFoundError"}, result


REFERENCE = """
import importlib, json, sys
import course_lib.grading  # the grading helpers stay importable
try:
    importlib.import_module("course_lib.neurons")
    imported = "imported"
except ImportError as err:
    imported = type(err).__name__
print(json.dumps({"import": imported, "files": [open(path, "rb").read().decode() for path in sys.argv[1:]]}))
"""


@needs_isolation
def test_hidden_reference_modules_cannot_be_imported_or_read(tmp_path, via):
    source = str(ROOT / "course_lib" / "neurons.py")
    compiled = importlib.util.cache_from_source(source)
    made = not os.path.exists(compiled)
    py_compile.compile(source, cfile=compiled)  # a compiled copy holds the answers too
    try:
        files = sandbox.reference_files(["course_lib.neurons", "course_lib.not_written_yet"])
        assert sorted(files) == [compiled, source]
        code = REFERENCE.replace("sys.argv[1:]", repr(files))
        done, result, _ = launch(tmp_path, code, *(f"--hide={f}" for f in files))
    finally:
        if made:
            os.unlink(compiled)
    assert result == {"import": "ModuleNotFoundError", "files": ["", ""]}, (result, done.stderr)


READABLE_CODE = """
import json, os, sys
package, answers, beside = sys.argv[1:] if len(sys.argv) > 1 else {paths!r}
def read(path):
    try:
        return open(path).read()
    except OSError as err:
        return type(err).__name__
print(json.dumps({{"module": read(os.path.join(package, "topic.py")), "answers": read(answers),
                   "beside": read(beside), "write": os.access(package, os.W_OK)}}))
"""


@needs_isolation
@pytest.mark.parametrize("where", ["tmp", "closed"])
def test_readable_packages_stay_readable_inside_hidden_folders_and_their_hidden_files_hidden(tmp_path, via, where):
    """A clone under /tmp (hidden whole) or under a home folder of mode 700: its packages bound back
    read-only, the reference answers inside them still hidden, the rest of the clone not shown."""
    if where == "tmp":
        folder = Path(tempfile.mkdtemp(dir=tmp_path))
    else:
        (ROOT / "build").mkdir(exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="closed-", dir=ROOT / "build"))
    try:
        folder.chmod(0o700)
        package = folder / "clone" / "course_lib"
        package.mkdir(parents=True)
        (package / "topic.py").write_text("TOPIC")
        (package / "answers.py").write_text("ANSWERS")
        (folder / "clone" / "beside.txt").write_text("BESIDE")
        for path in (folder / "clone", package):
            path.chmod(0o755)
        paths = [str(package), str(package / "answers.py"), str(folder / "clone" / "beside.txt")]
        done, result, _ = launch(tmp_path, READABLE_CODE.format(paths=paths), f"--readable={package}",
                                 f"--hide={package / 'answers.py'}")
    finally:
        shutil.rmtree(folder)
    assert result == {"module": "TOPIC", "answers": "", "beside": "FileNotFoundError", "write": False}, \
        (result, done.stderr)


GRADING_DIR = """
import json, os
state = os.environ["COURSE_GRADING_DIR"]
outcome = {"entries": sorted(os.listdir(state))}
with open(os.path.join(state, "running.json"), "w") as f:
    f.write('{"cell": "abc"}')
outcome["poisoned"] = open(os.path.join(state, "poisoned.json")).read()
try:
    open(os.path.join(state, "poisoned.json"), "w")
except OSError as err:
    outcome["write poisoned"] = type(err).__name__
with open(os.path.join(state, "seal", "answer.pt"), "w") as f:
    f.write("answer")
print(json.dumps(outcome))
"""


@needs_isolation
def test_the_grading_directory_is_shared_except_flags(tmp_path, via):
    grading = tmp_path / "grading"
    (grading / "seal").mkdir(parents=True)
    (grading / "seal").chmod(0o733)  # as course_grader/sealed_execute.py makes it
    (grading / "poisoned.json").write_text('{"calls": {}}')
    (grading / "flags.json").write_text('[{"kind": "earlier", "detail": "kept"}]')
    done, result, flags = launch(tmp_path, GRADING_DIR)
    # poisoned.json is bound read-only (OSError: EROFS), whichever user the sandbox runs as.
    assert result == {"entries": ["poisoned.json", "running.json", "seal"], "poisoned": '{"calls": {}}',
                      "write poisoned": "OSError"}, (result, done.stderr)
    assert (grading / "running.json").read_text() == '{"cell": "abc"}'
    assert (grading / "seal" / "answer.pt").read_text() == "answer"
    assert [f for f in flags if f["kind"] != "no cgroup"] == [{"kind": "earlier", "detail": "kept"}]


SIGNALS = """
import json, os, signal, sys, time
got = []
signal.signal(signal.SIGINT, lambda *_: got.append("SIGINT"))
print(json.dumps({"uid": os.getuid(), "warm": "torch" in sys.modules}), flush=True)
while True:
    time.sleep(0.05)
    if got:
        print(json.dumps({"got": got}), flush=True)
        got.clear()
"""


@needs_isolation
def test_the_kernel_managers_signals_reach_the_program_and_killing_the_launcher_ends_it(tmp_path, via):
    """What jupyter_client does to a kernel: SIGINT to interrupt it, SIGKILL to the launcher when it
    gives up. Nothing of the sandbox may outlive the launcher. (In a user namespace, the sandbox's
    processes are the grader's user's: they are those that were not there before.)"""
    (tmp_path / "scratch").mkdir()
    before = set(processes_of(os.getuid()))
    launcher = subprocess.Popen([*LAUNCHER, "--scratch", str(tmp_path / "scratch"), "--", sys.executable, "-c",
                                 SIGNALS], stdout=subprocess.PIPE, text=True)
    try:
        started = json.loads(launcher.stdout.readline())
        assert started["warm"] == (via == "zygote")  # run by a fork of the zygote, torch already imported
        sandboxed = processes_of(started["uid"]) if ROOT_USER else sorted(set(processes_of(os.getuid())) - before)
        launcher.send_signal(signal.SIGINT)
        assert json.loads(launcher.stdout.readline()) == {"got": ["SIGINT"]}
        assert sandboxed
    finally:
        launcher.kill()
        launcher.wait()

    def alive():
        return [pid for pid in sandboxed if os.path.exists(f"/proc/{pid}") and pid != launcher.pid]
    deadline = time.monotonic() + 10
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(), "the sandbox outlived its launcher"


ENVIRONMENT = """
import json, os
print(json.dumps({"names": sorted(os.environ)}))
"""


@needs_isolation
def test_the_kernel_sees_an_allow_list_of_the_graders_environment(tmp_path, via, monkeypatch):
    """An instructor's secrets never reach a submission's code (nor, printed, its feedback)."""
    secrets = {"PGPASSWORD": "s3cret", "AWS_SECRET_ACCESS_KEY": "k3y", "NBGRADER_DB_URL": "postgresql://a:b@h/d",
               "GITHUB_TOKEN": "t0ken", "SSH_AUTH_SOCK": "/run/user/0/agent"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    done, result, _ = launch(tmp_path, ENVIRONMENT)
    assert result is not None, done.stderr
    seen = result["names"]
    assert not set(secrets) & set(seen), seen
    assert {"PATH", "HOME", "OMP_NUM_THREADS", "NBGRADER_EXECUTION", "COURSE_GRADING_DIR"} <= set(seen), seen
    assert "COURSE_SANDBOX_ZYGOTE" not in seen


MEMORY = """
import json
# The secret's two halves apart, never joined here: only a copy of the grader's environment holds them joined.
first, second = {first!r}, {second!r}
found = []
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
    for line in maps:
        fields = line.split()
        if "r" not in fields[1] or fields[-1] in ("[vvar]", "[vsyscall]"):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        for at in range(start, end, 1 << 26):  # 64 MiB at a time, overlapping by the secret's length
            try:
                mem.seek(at)
                data = mem.read(min(end - at, (1 << 26) + 64))
            except (OSError, ValueError, OverflowError):
                break
            i = data.find(first)
            while i >= 0:
                if data[i + len(first):i + len(first) + len(second)] == second:
                    found.append(fields[-1] if len(fields) > 5 else "anonymous")
                i = data.find(first, i + 1)
print(json.dumps({{"found": found}}))
"""


@needs_isolation
@pytest.mark.parametrize("how", ["launcher", "class command's zygote"])
def test_no_secret_of_the_graders_environment_lies_anywhere_in_the_kernels_memory(tmp_path, monkeypatch, how):
    """A kernel forked from the zygote shares its memory: /proc/self/environ and the stack frames
    above the kernel held the class command's whole environment (attack review: PGPASSWORD read
    there and printed into the feedback). The zygote is started as the class command starts it."""
    from course_grader.grade_class.runs import warm_launcher
    first, second = b"PGPASSWORD=hunter2-", os.urandom(8).hex().encode()
    monkeypatch.setenv("PGPASSWORD", (first + second).decode().split("=", 1)[1])
    monkeypatch.delenv(zygote.ENV, raising=False)
    program = MEMORY.format(first=first, second=second)
    if how == "launcher":
        done, result, _ = launch(tmp_path, program)
    else:
        with warm_launcher():
            done, result, _ = launch(tmp_path, program)
    assert result == {"found": []}, (result, done.stderr[-2000:])


PEEK_AT_ZYGOTE = """
import json, os, socket
path = {path!r}
outcome = {{"exists": os.path.exists(path)}}
try:
    socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).connect(path)
    outcome["connect"] = "connected"
except OSError as err:
    outcome["connect"] = type(err).__name__
print(json.dumps(outcome))
"""


@needs_isolation
def test_a_kernel_cannot_reach_the_zygote_nor_would_it_be_served(tmp_path, monkeypatch):
    """Without root the sandbox runs as the grader's user: a kernel that reached the zygote's
    socket (the class command's TMPDIR outside /tmp, hidden as /tmp is) could ask for a sandbox of
    its own choosing. Each sandbox the zygote starts hides the socket's folder, and the zygote
    serves no process outside its own mount namespace."""
    from course_grader.grade_class.runs import warm_launcher
    (ROOT / ".pytest_cache").mkdir(exist_ok=True)
    monkeypatch.setenv("TMPDIR", tempfile.mkdtemp(dir=ROOT / ".pytest_cache"))
    os.chmod(os.environ["TMPDIR"], 0o755)  # as a home folder's tmp may be
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    try:
        with warm_launcher():
            check_the_zygote_unreachable(tmp_path, os.environ[zygote.ENV])
    finally:
        shutil.rmtree(os.environ["TMPDIR"], ignore_errors=True)
        monkeypatch.setattr(tempfile, "tempdir", None)


def check_the_zygote_unreachable(tmp_path, zygote_socket):
    done, result, _ = launch(tmp_path, PEEK_AT_ZYGOTE.format(path=zygote_socket))
    assert result == {"exists": False, "connect": "FileNotFoundError"}, (result, done.stderr)
    # A process in a mount namespace of its own (as a sandbox is), the socket in plain sight.
    ask = ("import sys; from course_grader.sandbox.zygote_client import request; "
           f"print('served' if request({zygote_socket!r}, ['--scratch', {str(tmp_path)!r}, '--', 'true']) "
           "is not None else 'refused')")
    unshare = ["unshare", "--mount"] if ROOT_USER else ["unshare", "--user", "--map-root-user", "--mount"]
    outside = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True, timeout=60)
    inside = subprocess.run([*unshare, sys.executable, "-c", ask], capture_output=True, text=True, timeout=60)
    assert (outside.stdout.strip(), inside.stdout.strip()) == ("served", "refused"), (outside.stderr, inside.stderr)


@needs_isolation
@needs_root
def test_a_sandbox_that_cannot_be_built_runs_nothing_and_says_why(tmp_path, via):
    """Files in the scratch folder that do not fit its tmpfs (attack review: 131072 one-byte files
    handed in) made the launcher run the submission without any sandbox, as root. On a host that
    can isolate, a failed set-up is an error: nothing runs, the flag "sandbox failed"."""
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "big.bin").write_bytes(b"x" * (2 * 2**20))
    done, result, flags = launch(tmp_path, "print('{\"ran\": true}')", "--scratch-size", "1M")
    assert result is None and "ran" not in done.stdout, done.stdout
    assert done.returncode == 125
    assert "SandboxError: the sandbox could not be built" in done.stderr and "WARNING" not in done.stderr, done.stderr
    assert kinds(flags) == ["sandbox failed"], flags


def test_sizes_are_read_like_memory_limits():
    assert sandbox.parse_size("2G") == 2 * 1024**3
    assert sandbox.parse_size("256M") == 256 * 1024**2
    assert sandbox.parse_size("1.5GiB") == 3 * 1024**3 // 2
    assert sandbox.parse_size("4096") == 4096
    with pytest.raises(ValueError, match="not a size"):
        sandbox.parse_size("lots")


# --- end to end, with the real nbgrader ----------------------------------------------------------

NBGRADER = [sys.executable, "-c", "import sys; sys.modules.setdefault('rfc3987_syntax', None); "
            "sys.argv[0] = 'nbgrader'; from nbgrader.apps.nbgraderapp import main; sys.exit(main())"]
ATTACK = """import json, os
attempts = {{}}
for name, path, mode in [("relative gradebook", "../../../gradebook.db", "r+b"),
                         ("absolute gradebook", {gradebook!r}, "r+b"),
                         ("source notebook", {source!r}, "rb"),
                         ("relative source", "../../../source/01_neurons/01_neurons.ipynb", "rb")]:
    try:
        with open(path, mode) as f:
            if "+" in mode:
                f.write(b"not a database any more" * 100)
            attempts[name] = "done: " + f.name
    except OSError as err:
        attempts[name] = type(err).__name__
print("ATTEMPTS " + json.dumps(attempts))

"""


@needs_isolation
@pytest.mark.slow
def test_nbgrader_grades_a_hostile_submission_in_the_sandbox(tmp_path):
    """Its code cannot touch the gradebook or read the source; the reference still gets full marks."""
    course = tmp_path / "exercises"
    shutil.copytree(ROOT / "exercises", course, ignore=shutil.ignore_patterns(
        "gradebook.db*", "submitted", "autograded", "feedback", "grading_logs", "release", "__pycache__", "*.csv"))
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    env.pop("COURSE_GRADING_DIR", None)

    def nbgrader(*args):
        done = subprocess.run([*NBGRADER, *args], cwd=course, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    nbgrader("generate_assignment", "01_neurons", "--force")
    source = nbformat.read(course / "source" / "01_neurons" / "01_neurons.ipynb", as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    attack = ATTACK.format(gradebook=str(course / "gradebook.db"),
                           source=str(course / "source" / "01_neurons" / "01_neurons.ipynb"))
    for student in ("reference", "intruder"):
        nb = nbformat.read(course / "release" / "01_neurons" / "01_neurons.ipynb", as_version=4)
        for cell in nb.cells:
            key = cell.metadata.get("nbgrader", {}).get("grade_id")
            if key in solutions:
                cell.source = (attack if student == "intruder" and key == "linear" else "") + solutions[key]
        (course / "submitted" / student / "01_neurons").mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / "01_neurons" / "01_neurons.ipynb")

    log = nbgrader("autograde", "01_neurons")
    assert "not isolated" not in log, log

    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in ("reference", "intruder"):  # the intruder's answers are right too
            grades = [g for n in gb.find_submission("01_neurons", student).notebooks for g in n.grades
                      if not g.needs_manual_grade]
            lost = {g.name: (g.score, g.max_score) for g in grades if g.score != g.max_score}
            assert grades and not lost, f"{student} lost points: {lost}"

    graded = nbformat.read(course / "autograded" / "intruder" / "01_neurons" / "01_neurons.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "ATTEMPTS " in printed, printed
    attempts = json.loads(printed.split("ATTEMPTS ", 1)[1].splitlines()[0])
    assert set(attempts.values()) <= {"FileNotFoundError", "PermissionError", "OSError"}, attempts
