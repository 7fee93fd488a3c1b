"""The grader's replay of a notebook (course_grader/replay.py) and what it stands on: the seccomp
filter, the dispatcher ban, the snapshot of the grader's code, the framed channel, and the
client's blame and restarts. tests/test_red_team.py attacks it all through the real nbgrader."""
from __future__ import annotations

import io
import os
import struct
import platform
import subprocess
import sys
import textwrap
import threading
import time
import types
import zipfile

import nbformat
import pytest
import torch

from course_grader import frames, replay_client
from course_grader.hidden_test import hidden_test_of
from course_grader.replay_client import REPLAY_COMMAND, ReplayClient, Step
from course_grader.snapshot import Snapshot
from course_grader.verdicts import verify
from course_lib._ban import Ban, ForbiddenCall
from course_lib.exercise_checks import new_generator
from course_grader.replay_program import ban_of
from course_lib.exercise_rules import FORBIDDEN


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux's")
def test_after_the_filter_no_process_or_program_starts_but_threads_do():
    done = run_python("""
        import os, subprocess, sys, threading, torch
        from course_grader.sandbox.seccomp import forbid_new_processes
        assert forbid_new_processes() is None
        for attempt in (os.fork, lambda: subprocess.run(["true"]), lambda: os.execv(sys.executable, [sys.executable])):
            try:
                attempt()
            except PermissionError:
                continue
            raise SystemExit("a process started")
        out = []
        thread = threading.Thread(target=lambda: out.append(1))
        thread.start(); thread.join()
        torch.set_num_threads(2)
        x = torch.randn(512, 512)
        print(out, float((x @ x).sum()) != 0)
        """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1] True"


I386_GETPID = """
    import ctypes, mmap, os
    # mov eax, 20 (getpid in the i386 ABI); int 0x80; ret: a system call the x86_64 numbers do not describe
    code = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    code.write(bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3]))
    call = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(code)))
    if {filtered}:
        from course_grader.sandbox.seccomp import forbid_new_processes
        assert forbid_new_processes() is None
    print(call() == os.getpid())
    """


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the i386 ABI is x86_64's")
def test_the_filter_refuses_system_calls_of_another_abi():
    """int 0x80 reaches the i386 system calls, whose numbers differ (2 is fork there): the filter,
    reading x86_64 numbers, must refuse them all, not let them through."""
    unfiltered = run_python(I386_GETPID.format(filtered=False))
    if unfiltered.returncode != 0:
        pytest.skip(f"this kernel runs no i386 system calls (exit {unfiltered.returncode})")
    assert unfiltered.stdout.strip() == "True"
    filtered = run_python(I386_GETPID.format(filtered=True))
    assert (filtered.returncode, filtered.stdout.strip()) == (0, "False"), filtered.stderr


@pytest.mark.parametrize("path", ["torch.relu(z)", "z.relu()", "torch.ops.aten.relu.default(z)",
                                  "torch.nn.ReLU()(z)", "torch.threshold(z, 0.0, 0.0)",
                                  "z.to_sparse().relu().to_dense()"])
def test_a_banned_operator_fails_in_another_thread_by_any_path(path):
    z = torch.randn(5)
    results = []

    def other_thread():
        try:
            with torch.inference_mode(), torch._C.DisableTorchFunction():
                results.append(eval(path, {"torch": torch, "z": z}))  # noqa: S307 - the path under test
        except ForbiddenCall as err:
            results.append(err)
    with Ban(frozenset({"relu", "threshold"})) as ban:
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        assert ban.intact()
    assert isinstance(results[0], ForbiddenCall), results
    assert ban.used() in ("torch's relu", "torch's threshold")
    assert torch.equal(torch.relu(z), z.clamp(min=0)), "the kernels are back after the ban"


def test_what_is_not_banned_runs_and_a_lifted_ban_shows():
    z = torch.randn(5)
    with Ban(frozenset({"relu"})) as ban:
        assert torch.equal(z.clamp(min=0), torch.where(z > 0, z, 0.0))
        ban._library.reset()  # as code that found the ban in memory would
        assert not ban.intact()
    assert ban.used() is None


def test_the_snapshot_sees_and_undoes_what_code_changed():
    module = types.ModuleType("course_grader_test_module")
    exec(textwrap.dedent("""
        TABLE = {"relu": ("torch:relu",)}
        def check(x):
            return x == 1
        class Checker:
            def run(self):
                return "real"
        """), module.__dict__)
    module.Checker.__module__ = module.__name__
    sys.modules[module.__name__] = module
    try:
        snap = Snapshot([module], [])
        original_check = module.check
        module.TABLE["relu"] = ()
        module.check.__code__ = (lambda x: True).__code__
        module.Checker.run = lambda self: "fake"
        module.len = lambda x: 0  # shadows a builtin in the module's globals
        module.os = os  # a module imported meanwhile is not a change
        sys.modules[module.__name__] = types.ModuleType("fake")
        changed = snap.changed()
        assert set(changed) >= {f"{module.__name__}.TABLE", f"{module.__name__}.check", f"{module.__name__}.len",
                                f"{module.__name__}.Checker.run", f"sys.modules[{module.__name__!r}]"}, changed
        assert not any(name.endswith(".os") for name in changed)
        snap.restore()
        assert snap.changed() == []
        assert module.TABLE == {"relu": ("torch:relu",)} and module.check is original_check and not module.check(2)
        assert module.Checker().run() == "real" and "len" not in vars(module)
    finally:
        sys.modules.pop(module.__name__, None)


def test_the_channel_refuses_what_is_not_a_message_of_ours():
    def read(data: bytes, deadline: float = 5.0):
        read_fd, write_fd = os.pipe()
        os.write(write_fd, data)
        os.close(write_fd)
        try:
            return frames.FrameReader(read_fd).read(time.monotonic() + deadline)
        finally:
            os.close(read_fd)
    assert read(frames.encode({"answers": [torch.ones(2)]}))["answers"][0].tolist() == [1.0, 1.0]
    with pytest.raises(frames.BadFrame, match="at most"):
        read(struct.pack("!Q", 1 << 40))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", bytes(8 << 20))
    with pytest.raises(frames.BadFrame, match="compressed"):
        read(struct.pack("!Q", len(bomb.getvalue())) + bomb.getvalue())
    with pytest.raises(frames.BadFrame, match="not plain data"):
        read(struct.pack("!Q", 4) + b"junk")
    with pytest.raises(frames.BadFrame, match="end of the pipe"):
        read(struct.pack("!Q", 100) + b"short")


RELU_TEST = ("import torch\nfrom course_lib.exercise_checks import expect\n"
             "expect(relu, torch.tensor([-2.0, 0.0, 3.0]), to_be=torch.tensor([0.0, 0.0, 3.0]))\n"
             "from course_grader.sealed import sealed_checks\nsealed_checks(relu)\n")
STEP_TEST = "from course_grader.sealed import sealed_checks\nsealed_checks(step)\n"
STEP = "def step(z):\n    return (z > 0).to(z.dtype)\n"


def replay(relu_cell: str, cell_timeout: float = 30, cwd: str | None = None) -> tuple[dict, list, int]:
    """Replay setup, relu's cell, relu's test, step's cell and test: ({name: verdict or error}, flags, restarts)."""
    steps = [Step("code", "import torch\n%matplotlib inline\n"), Step("code", relu_cell), Step("test", RELU_TEST, "relu"),
             Step("code", STEP), Step("test", STEP_TEST, "step")]
    cases = {name: hidden_test_of(name).cases(new_generator()) for name in ("relu", "step")}
    env = dict(os.environ, NBGRADER_EXECUTION="autograde", MPLBACKEND="Agg")
    client = ReplayClient(REPLAY_COMMAND, cwd or os.getcwd(), env, cell_timeout, lambda name: 6)
    result = client.run(steps, cases.__getitem__, ban_of(list(cases)))
    verdicts = {}
    for index, outcome in result.tests.items():
        name = steps[index].name
        verdicts[name] = outcome.error or outcome.twin or verify(hidden_test_of(name), cases[name], outcome.answers) \
            or ("tampering" if outcome.replaced_during else "passed")
    return verdicts, result.flags, result.restarts


def test_a_right_relu_passes_and_a_wrong_one_fails_with_the_checks_message():
    verdicts, flags, restarts = replay("def relu(z):\n    return torch.where(z > 0, z, 0.0)\n")
    assert verdicts == {"relu": "passed", "step": "passed"} and flags == [] and restarts == 0
    verdicts, _, _ = replay("def relu(z):\n    return z\n")
    assert verdicts["relu"].startswith("relu: wrong values") and verdicts["step"] == "passed", verdicts


def test_a_cell_cannot_put_its_own_replay_in_the_folder_of_the_next_start(tmp_path):
    """Found by the fourth attack review: a cell wrote course_grader/replay.py into the replay's folder
    and ended the process; the restarted replay (python -m, the folder first on sys.path) was the
    notebook's, with the bans lifted and every answer computed by torch."""
    fake = "open('TAKEN_OVER', 'w').close()\nimport os\nos._exit(0)\n"
    cell = ("import os\nos.makedirs('course_grader', exist_ok=True)\nopen('course_grader/__init__.py', 'w').close()\n"
            f"open('course_grader/replay.py', 'w').write({fake!r})\ndef relu(z):\n    return z\nos._exit(1)\n")
    verdicts, _, restarts = replay(cell, cwd=str(tmp_path))
    assert restarts == 1 and not (tmp_path / "TAKEN_OVER").exists()
    assert verdicts["relu"] != "passed" and verdicts["step"] == "passed", verdicts


def test_the_twin_from_a_thread_fails_its_test_only():
    verdicts, _, _ = replay("import threading\n\ndef relu(z):\n    out = []\n"
                            "    thread = threading.Thread(target=lambda: out.append(torch.relu(z)))\n"
                            "    thread.start(); thread.join()\n    return out[0]\n")
    assert "calls torch's relu" in verdicts["relu"] and verdicts["step"] == "passed", verdicts


def test_a_cell_that_ends_the_replay_is_left_out_and_the_rest_still_counts():
    verdicts, flags, restarts = replay("import os\nos._exit(0)\n")
    assert restarts == 1 and "not defined" in verdicts["relu"] and verdicts["step"] == "passed", verdicts


def test_garbage_on_the_channel_is_tampering_and_costs_that_cell_only():
    verdicts, flags, _ = replay("import os\nfor fd in range(3, 30):\n    try:\n        os.write(fd, b'\\xff' * 64)\n"
                                "    except OSError:\n        pass\n\ndef relu(z):\n    return z.clamp(min=0)\n")
    assert [f["kind"] for f in flags] == ["tampering"] and "relu" in verdicts and verdicts["step"] == "passed"
    assert verdicts["relu"] != "passed"


def test_a_cell_past_its_time_is_stopped_and_one_that_ignores_the_stop_is_left_out():
    verdicts, _, restarts = replay("while True:\n    pass\n", cell_timeout=2)
    assert restarts == 0 and "not defined" in verdicts["relu"] and verdicts["step"] == "passed", verdicts
    verdicts, _, restarts = replay("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass\n",
                                   cell_timeout=1)
    assert restarts == 1 and "not defined" in verdicts["relu"] and verdicts["step"] == "passed", verdicts


def test_an_answer_of_too_many_parts_is_refused_before_it_is_written_out():
    from course_grader.replay_messages import within_bounds
    from course_grader.verdicts import answer
    shared = ()
    for _ in range(60):
        shared = (shared, shared, shared)  # 3**60 paths in a few bytes
    assert not within_bounds([{"value": shared}]) and within_bounds([{"value": (torch.ones(3), 1.0)}])
    test = hidden_test_of("relu")
    response = answer(test, lambda z: shared, {"args": (torch.ones(3),)})
    assert "more than" in response["error"], response


# Entries that name no operator of the dispatcher: autograd's entry point (Python), and the way
# F.logsigmoid is spelled in code, which the reading of the code matches (its operator is log_sigmoid).
NOT_OPERATORS = {"torch:grad", "torch:logsigmoid"}


@pytest.mark.parametrize("name", sorted(FORBIDDEN))
def test_every_torch_entry_of_the_rules_bans_some_operator(name):
    from course_lib._ban import ban_targets
    empty = [e for e in FORBIDDEN[name] if e.startswith("torch:") and e not in NOT_OPERATORS
             and not ban_targets(frozenset({e.removeprefix("torch:")}))]
    assert not empty, f"{name}: {empty} match no aten operator (a misspelled entry bans nothing)"


ATTACKS = os.path.join(os.path.dirname(__file__), "attacks")


@pytest.mark.parametrize("file", sorted(f for f in os.listdir(ATTACKS) if f.endswith(".py")))
def test_a_twin_by_an_operator_the_rules_once_missed_fails_its_hidden_test(file):
    name = file.split("_by_")[0]
    source = open(os.path.join(ATTACKS, file)).read()
    steps = [Step("code", source), Step("test", f"from course_grader.sealed import sealed_checks\nsealed_checks({name})\n", name)]
    cases = {name: hidden_test_of(name).cases(new_generator())}
    env = dict(os.environ, NBGRADER_EXECUTION="autograde", MPLBACKEND="Agg")
    client = ReplayClient(REPLAY_COMMAND, os.getcwd(), env, 30, lambda n: 6)
    outcome = client.run(steps, cases.__getitem__, ban_of([name])).tests[1]
    assert outcome.answers is not None and outcome.error is None, outcome
    problem = verify(hidden_test_of(name), cases[name], outcome.answers)
    assert problem and ("calls" in problem or "not allowed" in problem), problem


FORGES_THE_CHANNEL = '''
import torch.serialization as _ser
_seen = {}
_real_save, _real_load = _ser._save, _ser._load

def _load(*args, **kwargs):
    obj = _real_load(*args, **kwargs)
    if isinstance(obj, dict) and "cases" in obj:
        _seen["cases"] = obj["cases"]
    return obj

def _save(obj, *args, **kwargs):
    if isinstance(obj, dict) and "answers" in obj and "cases" in _seen:
        obj = dict(obj, answers=[{"value": torch.relu(*c["args"])} for c in _seen["cases"]], twin=None,
                   replaced_before=[], replaced_during=[])
    if isinstance(obj, dict) and "done" in obj:
        obj = dict(obj, error=None, replaced=[])
    return _real_save(obj, *args, **kwargs)

_ser._save, _ser._load = _save, _load

def relu(z):
    return z
'''


def test_answers_forged_in_the_functions_that_send_them_are_put_back_and_flagged():
    verdicts, _, _ = replay(FORGES_THE_CHANNEL)
    assert verdicts["relu"] != "passed" and verdicts["step"] == "passed", verdicts


def test_a_crafted_answer_that_breaks_the_comparison_fails_its_test_not_the_grader():
    from course_grader.verdicts import judge
    test = hidden_test_of("fit_line")
    case = test.cases(new_generator())[0]
    assert judge(test, case, {"value": (10 ** 400, 0.0)}).startswith("fit_line: checking your answer raised OverflowError")


def test_the_grader_gives_up_writing_to_a_replay_that_stopped_reading():
    read_fd, write_fd = os.pipe()
    try:
        start = time.monotonic()
        with pytest.raises(frames.BadFrame, match="in time"):
            frames.write(write_fd, {"cases": [torch.zeros(1 << 18)]}, time.monotonic() + 1)
        assert time.monotonic() - start < 10
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_ban_for_good_leaves_no_handle_to_lift_it():
    done = run_python("""
        import gc, threading, torch
        from course_lib._ban import ForbiddenCall, ban_for_good, ban_targets
        refused = ban_for_good(ban_targets(frozenset({"relu"})))
        handles = [o for o in gc.get_objects() if type(o).__name__ == "_DispatchModule"]
        handles += [r for o in gc.get_objects() if callable(o) for r in gc.get_referents(o) if type(r).__name__ == "_DispatchModule"]
        out = []
        def other():
            try:
                out.append(torch.relu(torch.randn(3)))
            except ForbiddenCall as err:
                out.append(err)
        thread = threading.Thread(target=other)
        thread.start(); thread.join()
        print(len(handles), type(out[0]).__name__, refused)
        """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "ForbiddenCall", "['relu']"], done.stdout


def test_a_notebook_that_reroutes_the_grader_channel_gets_nothing_for_a_blank_function(monkeypatch):
    """Found by the third attack review: the relu cell puts a memory file where the replay writes
    to the grader; a later cell rewrites what was sent and plays the replay's part, asking for
    relu's cases itself and answering them with torch.relu. The replay's ban, armed for good before
    any cell, refuses torch.relu there too."""
    source = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nbformat.read(
        os.path.join(os.path.dirname(ATTACKS), "..", "exercises", "source", "02_activations", "02_activations.ipynb"),
        as_version=4).cells}
    steps = [Step("code", "import torch\n"), Step("code", open(os.path.join(ATTACKS, "channel_blank_relu_cell.txt")).read()),
             Step("test", source["test_relu"], "relu"),
             Step("code", open(os.path.join(ATTACKS, "channel_later_cell.txt")).read()), Step("code", STEP),
             Step("test", source["test_step"], "step")]
    cases = {name: hidden_test_of(name).cases(new_generator()) for name in ("relu", "step")}
    env = dict(os.environ, NBGRADER_EXECUTION="autograde", MPLBACKEND="Agg")
    # The rerouted replay stops talking to the grader, which waits out its deadlines: short ones here
    monkeypatch.setattr(replay_client, "VISIBLE_SECONDS", 10)
    client = ReplayClient(REPLAY_COMMAND, os.getcwd(), env, 10, lambda name: 2)
    outcome = client.run(steps, cases.__getitem__, ban_of(list(cases))).tests[2]
    assert outcome.error or outcome.twin or verify(hidden_test_of("relu"), cases["relu"], outcome.answers), outcome
