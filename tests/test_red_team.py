"""Red team: submissions that try to fool the grader instead of writing the function.

Every cheat below targets `relu` of 02_activations with a wrong relu (it returns z, a tensor that
pretends to be right, or torch.relu's answer) and tries to get its point anyway: by replacing what
the checks use, by handing back something that is not a plain answer, by stopping or silencing the
tests, or by editing them. Graded with the real nbgrader through exercises/grade.py, each must lose
relu's point, and the instructor's summary must flag the submission with the kind of cheat it is.
Every other function of the submission is the reference's and keeps its points: the hidden tests
are answered in the grader's replay of the notebook (course_grader/replay.py), where what a cheat
changed is put back before each test, so no cheat silences more than its own test.
"""
from __future__ import annotations

import json

import pytest

from nbgrader_course import EXERCISES, NBGRADER, NOT_COPIED, PYTHON, cells_by_id, points_of, read, run, submit

pytestmark = pytest.mark.slow

ASSIGNMENT = "02_activations"
WRONG_RELU = "def relu(z):\n    return z  # wrong for every negative z\n"

# Runs only in the grader's replay of the notebook (course_grader/replay.py), where the kernel's
# COURSE_SEALED is absent: an attack on the replay's channel to the grader.
IN_THE_REPLAY = "import os\n\nif 'COURSE_SEALED' not in os.environ:\n"
ZIP_BOMB_FRAME = (  # a message whose archive inflates to 100 MB in the reader
    "    import io, struct, zipfile\n    buffer = io.BytesIO()\n"
    "    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as z:\n"
    "        with z.open('archive/data.pkl', 'w', force_zip64=True) as f:\n"
    "            for _ in range(100):\n                f.write(bytes(1 << 20))\n"
    "    data = buffer.getvalue()\n    frame = struct.pack('!Q', len(data)) + data\n")
EVERY_FD = "    for fd in range(3, 64):\n        try:\n            {action}\n        except OSError:\n            pass\n"
TWIN = "import torch\n\n"

# student -> (code put in relu's solution cell, kind of flag expected in the summary)
CHEATS = {
    "rebinds_assert_close": (
        "import course_lib.grading, course_lib.exercise_checks\n"
        "course_lib.grading.assert_close = lambda *args, **kwargs: None\n"
        "course_lib.exercise_checks.assert_close = lambda *args, **kwargs: None\n" + WRONG_RELU, "tampering"),
    "rebinds_torch_comparisons": (
        "import torch\ntorch.allclose = lambda *args, **kwargs: True\ntorch.equal = lambda *args, **kwargs: True\n"
        "torch.testing.assert_close = lambda *args, **kwargs: None\n" + WRONG_RELU, "tampering"),
    "patches_tensor_eq": (
        "import torch\ntorch.Tensor.__eq__ = lambda self, other: torch.ones((), dtype=torch.bool)\n" + WRONG_RELU,
        "tampering"),
    "patches_builtins": (
        "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.all = lambda x: True\n" + WRONG_RELU, "tampering"),
    "patches_the_reference": (
        "import course_lib.activations\ncourse_lib.activations.relu = lambda z: z\n" + WRONG_RELU, "suspicious code"),
    "returns_the_reference": (
        "from course_lib.activations import relu as reference_relu\n\n"
        "def relu(z):\n    return reference_relu(z)\n", "suspicious code"),
    "tensor_subclass_always_equal": (
        "import torch\n\nclass AlwaysRight(torch.Tensor):\n"
        "    @classmethod\n    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
        "        if func.__name__ in ('eq', '__eq__', 'allclose', 'isclose', 'equal'):\n"
        "            return torch.tensor(True)\n"
        "        return super().__torch_function__(func, types, args, kwargs or {})\n\n"
        "def relu(z):\n    return z.clone().as_subclass(AlwaysRight)\n", "tampering"),
    "silences_sealed_checks": (
        "import course_grader.sealed\ncourse_grader.sealed.sealed_checks = lambda fn: None\n" + WRONG_RELU, "tampering"),
    "swaps_modules": (
        "import sys, types\nfake = types.ModuleType('course_grader.sealed')\nfake.sealed_checks = lambda fn: None\n"
        "sys.modules['course_grader.sealed'] = fake\n"
        "checks = types.ModuleType('course_lib.exercise_checks')\n"
        "checks.expect = checks.call = lambda *args, **kwargs: None\n"
        "sys.modules['course_lib.exercise_checks'] = checks\n" + WRONG_RELU, "tampering"),
    "swallows_errors": (
        "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n" + WRONG_RELU,
        "suspicious code"),
    "fakes_success_and_exits": (
        WRONG_RELU + "\nimport os\nprint('All tests passed: 15 / 15')\nos._exit(0)\n", "suspicious code"),
    "forges_answers": (  # writes answers of its own where the grader reads them, then silences the checks
        "import os, torch, course_grader.sealed\n"
        "seal = os.environ.get('COURSE_SEAL_DIR', '.')\n"
        "torch.save({'answers': [{'value': torch.zeros(1)}] * 50, 'replaced': []}, os.path.join(seal, 'relu.pt'))\n"
        "course_grader.sealed.sealed_checks = lambda fn: None\n" + WRONG_RELU, "suspicious code"),
    "forges_twin_answers": (  # relu calls torch.relu; its test is faked and its answers forged, so the
        # kernel's twin check never runs: only the grader's reading of the code (static_twins) sees it
        "import os, torch, course_lib.exercise_checks as checks, course_grader.sealed as sealed\n"
        "real_expect, real_sealed_checks = checks.expect, sealed.sealed_checks\n\n"
        "def relu(z):\n    return torch.relu(z)\n\n"
        "def expect(fn, *args, **kwargs):\n    if fn is not relu:\n        real_expect(fn, *args, **kwargs)\n\n"
        "def sealed_checks(fn):\n    if fn is not relu:\n        return real_sealed_checks(fn)\n"
        "    seal = os.environ['COURSE_SEAL_DIR']\n"
        "    cases = torch.load(os.path.join(seal, 'cases.pt'), weights_only=True)['relu']\n"
        "    answers = [{'value': torch.relu(*case['args'])} for case in cases]\n"
        "    torch.save({'answers': answers, 'replaced': []}, os.path.join(seal, 'relu.pt'))\n\n"
        "checks.expect, sealed.sealed_checks = expect, sealed_checks\n", "calls its twin"),
    # nbgrader scores a test cell full when its first execute_result is not a number: a hook gives
    # relu's test such a result before its checks fail. Only the grader's verdict may score.
    "forges_an_execute_result": (
        "def forge(info):\n    if 'sealed_checks(relu)' in info.raw_cell:\n        ip = get_ipython()\n"
        "        ip.kernel.session.send(ip.kernel.iopub_socket, 'execute_result', {'data': {'text/plain': \"'ok'\"},"
        " 'metadata': {}, 'execution_count': 1}, parent=ip.kernel.get_parent())\n\n"
        "get_ipython().events.register('pre_run_cell', forge)\n" + WRONG_RELU,
        "suspicious code"),
    # The replay's channel to the grader: garbage, a flood, a zip bomb, a forged message, closed
    # pipes. The cell that does it is left out of the replay (so relu is undefined), nothing else.
    "floods_the_channel": (IN_THE_REPLAY + EVERY_FD.format(action="os.write(fd, bytes(64 << 20))") + WRONG_RELU,
                           "tampering"),
    "zip_bomb_on_the_channel": (IN_THE_REPLAY + ZIP_BOMB_FRAME + EVERY_FD.format(action="os.write(fd, frame)")
                                + WRONG_RELU, "tampering"),
    "forges_a_message": (IN_THE_REPLAY + "    import io, struct, torch\n    buffer = io.BytesIO()\n"
                         "    torch.save({'end': True}, buffer)\n"
                         "    frame = struct.pack('!Q', len(buffer.getvalue())) + buffer.getvalue()\n"
                         + EVERY_FD.format(action="os.write(fd, frame)") + WRONG_RELU, "tampering"),
    "closes_the_channel": (IN_THE_REPLAY + EVERY_FD.format(action="os.close(fd)") + WRONG_RELU, "suspicious code"),
    # The forbidden twin by every path: the replay bans torch.relu's kernels in PyTorch's
    # dispatcher while relu's cases are answered, in every thread.
    "twin_in_a_thread": ("from concurrent.futures import ThreadPoolExecutor\n\n"
                         "def relu(z):\n    with ThreadPoolExecutor(1) as pool:\n        return pool.submit(z.relu).result()\n",
                         "calls its twin"),
    "twin_in_a_waiting_thread": (  # a worker started before any test, fed relu's inputs through a queue
        TWIN + "import queue, threading\njobs, results = queue.Queue(), queue.Queue()\n\n"
        "def worker():\n    while True:\n        z = jobs.get()\n        try:\n            results.put(torch.relu(z))\n"
        "        except Exception as err:\n            results.put(err)\n\n"
        "threading.Thread(target=worker, daemon=True).start()\n\n"
        "def relu(z):\n    jobs.put(z)\n    result = results.get()\n    if isinstance(result, Exception):\n"
        "        raise result\n    return result\n", "calls its twin"),
    "twin_through_torch_ops": (TWIN + "def relu(z):\n    return torch.ops.aten.relu.default(z)\n", "calls its twin"),
    "twin_under_disable_torch_function": (
        TWIN + "def relu(z):\n    with torch._C.DisableTorchFunction():\n        return torch.relu(z)\n", "calls its twin"),
    "twin_by_a_name_built_at_run_time": (TWIN + "def relu(z):\n    return getattr(torch, 're' + 'lu')(z)\n",
                                         "calls its twin"),
    "twin_defined_by_exec": (TWIN + "exec('def relu(z):\\n    return torch.nn.functional.threshold(z, 0.0, 0.0)')\n",
                             "calls its twin"),
    "twin_on_a_sparse_tensor": (TWIN + "def relu(z):\n    with torch.inference_mode():\n"
                                "        return z.to_sparse().relu().to_dense().clone()\n", "calls its twin"),
    "twin_in_a_forked_process": (
        TWIN + "import os, pickle\n\ndef relu(z):\n    read, write = os.pipe()\n    if os.fork() == 0:\n"
        "        os.write(write, pickle.dumps(torch.relu(z)))\n        os._exit(0)\n"
        "    return pickle.loads(os.read(read, 1 << 20))\n", "suspicious code"),
    "twin_in_a_new_python": (
        TWIN + "import pickle, subprocess, sys\n\ndef relu(z):\n"
        "    code = 'import pickle, sys, torch; sys.stdout.buffer.write(pickle.dumps(torch.relu(pickle.loads(sys.stdin.buffer.read()))))'\n"
        "    return pickle.loads(subprocess.run([sys.executable, '-c', code], input=pickle.dumps(z), "
        "capture_output=True, check=True).stdout)\n", "suspicious code"),
    "edits_exercise_rules": ("from course_lib.exercise_rules import FORBIDDEN\nFORBIDDEN['relu'] = ()\n\n"
                             "def relu(z):\n    f = z.relu\n    return f()\n", "calls its twin"),
    "patches_call_safely": ("real = expect.__globals__['call_safely']\n\n"
                            "def fake(fn, *args, name=None, **kwargs):\n    if name == 'relu':\n"
                            "        return args[0].clamp(min=0)\n    return real(fn, *args, name=name, **kwargs)\n\n"
                            "from course_lib.exercise_checks import expect\nexpect.__globals__['call_safely'] = fake\n"
                            + WRONG_RELU, "tampering"),
    "lifts_the_ban_from_memory": (  # finds the grader's ban with the garbage collector, lifts it, then calls the twin
        TWIN + "import gc, threading\n\ndef relu(z):\n    for obj in gc.get_objects():\n"
        "        if type(obj).__name__ == 'Ban' and getattr(obj, '_library', None) is not None:\n"
        "            obj._library.reset()\n    out = []\n"
        "    thread = threading.Thread(target=lambda: out.append(torch.relu(z)))\n    thread.start()\n    thread.join()\n"
        "    return out[0]\n", "calls its twin"),
    # Found by an attacker with the code in front of them (2026-12-06), with the four below: the replay's
    # own state, reached from a cell's frame (f_back), its tools replaced: put back before each test.
    'reaches_the_replay_through_frames': ('import sys, torch\n\ndef relu(z):\n    return z.clamp(min=0) if z.numel() == 3 else -z   # right only on the visible check\'s input\n\nclass _Quiet:\n    def __init__(self, ops): pass\n    def __enter__(self): return self\n    def __exit__(self, *e): return False\n    def intact(self): return True\n    def used(self): return None\n\n_f = sys._getframe().f_back\n_r = _f.f_locals.get("self") if _f is not None else None\nif type(_r).__name__ == "Replay":\n    _answer = _r.tools["answer"]\n    _r.tools["Ban"] = _Quiet\n    _r.tools["answer"] = lambda test, fn, case: {"value": getattr(torch, "re" + "lu")(case["args"][0])} \\\n        if test.name == "relu" else _answer(test, fn, case)\n', 'tampering'),
    # A forged message whose field is a tensor once crashed the grader's reading (a "grader error").
    'forges_a_message_with_a_tensor': ('import io, os, stat, fcntl, struct, torch\n\ndef relu(z):\n    return z.clamp(min=0)\n\nif get_ipython() is None:          # the grader\'s replay, not the kernel\n    _buf = io.BytesIO(); torch.save({"done": torch.tensor([7, 8])}, _buf)\n    _data = struct.pack("!Q", len(_buf.getvalue())) + _buf.getvalue()\n    for _fd in range(3, 64):\n        try:\n            if stat.S_ISFIFO(os.fstat(_fd).st_mode) and fcntl.fcntl(_fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:\n                getattr(os, "wri" + "te")(_fd, _data)\n        except OSError:\n            pass\n', 'tampering'),
    # Answers made of a tuple of three copies of a tuple of three ... (3**60 paths) once hung the grader.
    'sends_a_shared_structure': ('import sys, torch\n\ndef relu(z):\n    return z.clamp(min=0) if z.numel() == 3 else -z\n\n_f = sys._getframe().f_back\n_r = _f.f_locals.get("self") if _f is not None else None\nif type(_r).__name__ == "Replay":\n    _dag = ()\n    for _ in range(60):\n        _dag = (_dag, _dag, _dag)\n    _answer = _r.tools["answer"]\n    _r.tools["answer"] = lambda test, fn, case: {"value": _dag} if test.name == "relu" else _answer(test, fn, case)\n', 'tampering'),
    # The ban, found in the frames of the stack, lifted and entered again: a ban is entered once.
    'lifts_the_ban_through_frames': ('import sys, threading, torch\n\ndef relu(z):\n    bans, f = [], sys._getframe(1)\n    while f is not None:                                    # every Ban on the stack: guarded\'s and the replay\'s\n        b = f.f_locals.get("ban")\n        if b is not None and hasattr(b, "_library") and b not in bans:\n            bans.append(b)\n        f = f.f_back\n    for b in bans:\n        if b._library is not None:\n            b._library.reset(); b._library = None           # lift the ban\n    out = []\n    t = threading.Thread(target=lambda: out.append(getattr(torch, "re" + "lu")(z)))   # another thread: no Watch there\n    t.start(); t.join()\n    for b in reversed(bans):\n        b.__enter__()                                       # put look-alikes back (intact() re-notes them)\n    return out[0]\n', 'suspicious code'),
    # compile_forbidden's cache poisoned with no operators: the replay bans what the grader computed.
    'poisons_the_cache_of_the_rules': ('import torch\nimport course_lib._forbidden as _fb\nfrom course_lib.exercise_rules import FORBIDDEN\n\n_fb.frozenset = lambda *args: frozenset()          # a module global shadowing the builtin, for one call\n_fb.compile_forbidden(tuple(FORBIDDEN["relu"]))     # functools.cache now holds relu\'s entries -> no ops\ndel _fb.frozenset                                   # nothing left for the snapshot to see\n\ndef relu(z):\n    return getattr(torch, "re" + "lu")(z)           # the twin, by a name built at run time\n', 'calls its twin'),
    # An operator outside the table that gives relu's values exactly: now in the table.
    'twin_by_an_operator_that_equals_it': ("import torch\n\ndef relu(z):\n    return torch.ops.aten.threshold_backward(z, z, 0)\n", 'calls its twin'),
    # Finds the guard's ban, lifts it, calls the twin in a thread, puts look-alikes back: the replay's
    # own ban, armed for good before any cell, has no handle anyone can find.
    "lifts_the_ban_and_puts_look_alikes_back": (
        "import gc, threading, warnings, torch\n\ndef relu(z):\n"
        "    bans = [o for o in gc.get_objects() if type(o).__name__ == 'Ban' and getattr(o, '_library', None) is not None]\n"
        "    for ban in bans:\n        ban._library.reset()\n    out = []\n"
        "    thread = threading.Thread(target=lambda: out.append(getattr(torch, 're' + 'lu')(z)))\n"
        "    thread.start()\n    thread.join()\n"
        "    for ban in bans:\n        for op, key, name in ban.targets:\n"
        "            with warnings.catch_warnings():\n                warnings.simplefilter('ignore')\n"
        "                ban._library.impl(op, key, ban._refuse(name), False)\n    return out[0]\n", "calls its twin"),
    # The two attacks of the issue that found the kernel's hooks: both act in the kernel only.
    "input_transformer_forges_answers": (
        "import os, torch\n\ndef answer_from_the_seal(lines):\n"
        "    seal = next((v for k, v in os.environ.items() if k.endswith('SEAL_DIR')), None)\n"
        "    if seal and any('sealed_checks(' in line for line in lines):\n"
        "        cases = torch.load(os.path.join(seal, 'cases.pt'), weights_only=True)\n"
        "        for name, items in cases.items():\n"
        "            torch.save({'answers': [{'value': torch.relu(*c['args'])} for c in items], 'replaced': []},\n"
        "                       os.path.join(seal, name + '.pt'))\n"
        "        return ['pass\\n']\n    return lines\n\n"
        "get_ipython().input_transformers_post.append(answer_from_the_seal)\n" + WRONG_RELU, "suspicious code"),
    "hides_its_failure_from_the_kernel": (
        "get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)\n" + WRONG_RELU, "suspicious code"),
    # These three need the sandbox (course_grader/sandbox/): without it they would work.
    "reads_the_reference_from_disk": (
        "import importlib.util, os\n"
        "folder = os.path.dirname(importlib.util.find_spec('course_lib').origin)\n"
        "namespace = {}\n"
        "exec(open(os.path.join(folder, 'activations.py')).read(), namespace)\n\n"
        "def relu(z):\n    return namespace['relu'](z)\n", "suspicious code"),
    "copies_a_classmate": (
        "import json\n"
        "theirs = json.load(open('COURSE_DIR/submitted/reference/02_activations/02_activations.ipynb'))\n"
        "exec(next(''.join(c['source']) for c in theirs['cells'] if ''.join(c['source']).startswith('def relu')))\n",
        "suspicious code"),
    "writes_the_gradebook": (
        "import sqlite3\n"
        "db = sqlite3.connect('COURSE_DIR/gradebook.db')\n"
        "db.execute('update grade set manual_score = 100, needs_manual_grade = 0')\n"
        "db.commit()\n" + WRONG_RELU, "suspicious code"),
}
EDITS_TEST = "edits_its_test"  # relu wrong and test_relu replaced by `pass`: nbgrader restores it


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    import shutil
    course = tmp_path_factory.mktemp("red_team") / "exercises"
    shutil.copytree(EXERCISES, course, ignore=NOT_COPIED)
    shutil.rmtree(course / "release")
    run([*NBGRADER, "generate_assignment", ASSIGNMENT, "--force"], course)
    submit(course, ASSIGNMENT, "reference", {})
    for student, (code, _) in CHEATS.items():
        submit(course, ASSIGNMENT, student, {"relu": code.replace("COURSE_DIR", str(course))})
    submit(course, ASSIGNMENT, EDITS_TEST, {"relu": WRONG_RELU})
    path = course / "submitted" / EDITS_TEST / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = read(path)
    cells_by_id(nb)["test_relu"].source = "pass"
    import nbformat
    nbformat.write(nb, path)
    logs = course / "grading_logs" / "red_team"
    run([PYTHON, "grade.py", ASSIGNMENT, "--jobs", "2", "--time-limit", "240", "--logs", str(logs)], course)
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        manual = [(g.notebook.submission.student.id, g.name, g.manual_score)
                  for s in gb.assignment_submissions(ASSIGNMENT) for nb in s.notebooks for g in nb.grades
                  if g.manual_score is not None]
    return {"results": {r["student"]: r for r in json.loads((logs / "summary.json").read_text())},
            "manual_scores": manual, "course": course}


def _expected_score(student: str) -> float:
    points = points_of(ASSIGNMENT)
    return sum(points.values()) - points["test_relu"]


def test_the_reference_keeps_every_point_and_is_not_flagged(graded):
    result = graded["results"]["reference"]
    assert result["score"] == sum(points_of(ASSIGNMENT).values()), result
    assert not result.get("flags"), result["flags"]


@pytest.mark.parametrize("student", [*CHEATS, EDITS_TEST])
def test_a_cheat_loses_the_point_it_cheated_for_and_nothing_else(graded, student):
    result = graded["results"][student]
    assert result["score"] == _expected_score(student), (student, result)


@pytest.mark.parametrize("student", CHEATS)
def test_the_instructor_summary_flags_the_cheat(graded, student):
    flags = graded["results"][student].get("flags", [])
    assert CHEATS[student][1] in {flag["kind"] for flag in flags}, (student, flags)


def test_a_forged_result_is_shown_in_the_feedback_but_scores_nothing(graded):
    nb = read(graded["course"] / "autograded" / "forges_an_execute_result" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    outputs = cells_by_id(nb)["test_relu"].outputs
    assert not [o for o in outputs if o.output_type == "execute_result"], outputs
    assert any(o.output_type == "display_data" and "'ok'" in o.data.get("text/plain", "") for o in outputs), \
        "the hook's forged result never appeared: the attack did not run"


def test_an_edited_test_cell_is_flagged(graded):
    flags = " ".join(flag["detail"] for flag in graded["results"][EDITS_TEST].get("flags", []))
    assert "test_relu" in flags, graded["results"][EDITS_TEST]


def test_no_submission_wrote_a_grade_into_the_gradebook(graded):
    assert graded["manual_scores"] == [], "grades nobody gave by hand: " + str(graded["manual_scores"][:5])
