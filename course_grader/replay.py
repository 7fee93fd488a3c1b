"""The replay: a submission's code run again as plain Python, where the hidden tests are answered.

    python -m course_grader.replay      # started by the grader (replay_client.py), in the sandbox

nbgrader runs the notebook in a Jupyter kernel for the feedback. The kernel is the learner's:
its hooks, input transformers and displays can forge anything a test cell shows, so no grade is
read from it. The grader then starts this process, in the same sandbox, and sends it the
notebook's code cells in order (course_grader/frames.py): the setup, solution and learner's cells
run as plain Python, without IPython (`get_ipython()` answers nothing; magics do nothing), and
each test cell runs as written, with its visible checks. When a test cell reaches
`sealed_checks(fn)`, this process asks the grader for that test's cases, which no code saw
before, and answers them:

- before the notebook's code runs, this process can start no other process or program (a
  seccomp filter: course_grader/sandbox/seccomp.py); the forbidden operators of the graded names
  it tests fail from then on, in every thread, with no handle left to lift the ban
  (course_lib/_ban.py's ban_for_good, the kernels as the grader's own reading of the rules lists
  them); it notes the grader's code it relies on (course_grader/snapshot.py) and redirects its
  standard output, so that only the grader's channel carries messages;
- before each test, whatever the notebook changed of that code is put back and reported; what
  the notebook changes while the cases are answered makes the answers count as failed;
- while a test cell runs, the other graded names of its exercise whose tests have run are the
  grader's stand-ins, whose source the grader sends as the test starts (course_grader/stand_ins.py):
  one mistake costs its own points only.

The verdict is reached in the grader's process (course_grader/sealed_execute.py).
"""
from __future__ import annotations

import builtins
import os
import signal
import sys
import traceback
import types

MESSAGE_LENGTH = 400  # an error as reported to the grader: its last line, shortened


class _Absent:
    """What get_ipython() returns in the replay: any attribute, any call, and nothing happens."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return None


_UNBOUND = object()  # a name the notebook had not defined


class _CellTimeout(BaseException):
    pass


def _describe(err: BaseException) -> str:
    """As the feedback shows an error: a check's own message as it is, anything else with its type."""
    if type(err).__name__ == "GradingError":
        return str(err)[:MESSAGE_LENGTH * 5]
    return "".join(traceback.format_exception_only(type(err), err)).strip()[-MESSAGE_LENGTH:]


class Replay:
    def __init__(self, read_fd: int, write_fd: int):
        from course_grader import frames
        self.frames, self.read_fd, self.write_fd = frames, read_fd, write_fd
        self.state: dict = {"step": None}  # the step running: its contents change, the snapshot leaves them alone

    def send(self, **message) -> None:
        self.frames.write(self.write_fd, message)

    def receive(self) -> dict:
        return self.frames.read_trusted(self.read_fd)

    def prepare(self, names: list[str]) -> None:
        """Everything the answering needs, imported and noted before the notebook's code runs."""
        import io
        import pickle
        import zipfile

        import torch
        import torch._dynamo  # noqa: F401 - it rebinds some of torch's functions on import: before the snapshot
        import torch.nn.functional
        import torch.serialization

        import course_lib._ban
        import course_lib._forbidden
        import course_lib._guard
        import course_lib.exercise_checks
        import course_lib.exercise_rules
        import course_lib.grading  # noqa: F401 - noted by the snapshot below
        from course_grader import frames, hidden_test, sealed, snapshot, verdicts
        for name in names:
            hidden_test.hidden_test_of(name)
        sealed.answer_here = self.answer
        prefixes = ("course_lib.grading", "course_lib._guard", "course_lib._forbidden", "course_lib._ban",
                    "course_lib.exercise_", "course_grader.")
        modules = [m for name, m in list(sys.modules.items())
                   if isinstance(m, types.ModuleType) and name.startswith(prefixes)
                   and not name.startswith("course_grader.sandbox")]
        # what the messages to the grader pass through: torch.save and the file and pipe functions under it
        modules += [torch.serialization]
        shallow = [builtins, torch, torch._C, torch.Tensor, torch.nn.functional, frames, os, io, pickle, zipfile, sys]
        self.snapshot = snapshot.Snapshot(modules, shallow,
                                          state=("course_lib._guard._alarm", "course_lib._guard.timed_out"))
        self.tools = {"answer": verdicts.answer, "hidden_test_of": hidden_test.hidden_test_of}
        # The replay's own state too: code that reaches it through the frames of the stack
        self.snapshot.namespaces.append(("the replay", self, dict(vars(self))))
        self.snapshot.containers.append(("the replay's tools", self.tools, dict(self.tools)))

    @staticmethod
    def lend_stand_ins(namespace: dict, sources: dict[str, str]) -> dict:
        """Define the grader's stand-ins (name -> source) in namespace, in place of the notebook's
        definitions or where it has none (a cell that failed costs its own points only); return
        what they replaced, to put back."""
        import torch
        replaced = {}
        for name, source in sources.items():
            defined = {"torch": torch}
            exec(compile(source, f"<the grader's {name}>", "exec"), defined)  # noqa: S102 - the grader's own code
            replaced[name] = namespace.get(name, _UNBOUND)
            namespace[name] = defined[name]
        return replaced

    @staticmethod
    def put_back(namespace: dict, replaced: dict) -> None:
        for other, value in replaced.items():
            if value is _UNBOUND:
                namespace.pop(other, None)
            else:
                namespace[other] = value

    def answer(self, fn) -> None:
        """sealed_checks(fn) in a test cell of the replay: the grader's cases, answered under its ban."""
        __tracebackhide__ = True
        step = self.state["step"]
        if step is None or step.get("asked"):
            raise RuntimeError("sealed_checks ran outside its test cell")  # the notebook's code called it
        step["asked"] = True
        before = step["replaced"] + self.snapshot.changed()  # before the test, and by its visible checks
        self.snapshot.restore()
        tools = self.tools
        test = tools["hidden_test_of"](step["name"])
        refused = len(self.refused)
        self.send(cases_for=step["name"])
        given = self.receive()
        answers = [tools["answer"](test, fn, case) for case in given["cases"]]
        during = self.snapshot.changed()
        self.snapshot.restore()  # the sending below runs the grader's own code again
        twin = f"torch's {self.refused[refused]}" if len(self.refused) > refused else None
        self.send(answers=answers, twin=twin, replaced_before=before, replaced_during=during)

    def run(self) -> None:
        program = self.receive()
        steps = program["steps"]
        from course_grader.sandbox.seccomp import forbid_new_processes
        from course_lib._ban import ban_for_good
        not_forbidden = forbid_new_processes()
        # The twins of the graded names tested here fail from now on, in every thread, for good:
        # whatever code of the notebook does with the cases, it cannot compute them with the twin.
        self.refused = ban_for_good(tuple(tuple(target) for target in program["ban"]))
        self.prepare(sorted({s["name"] for s in steps if s["kind"] == "test"}))
        from IPython.core.inputtransformer2 import TransformerManager
        transform = TransformerManager().transform_cell
        main = types.ModuleType("__main__")
        main.__dict__.update(get_ipython=_Absent(), display=lambda *args, **kwargs: None)
        sys.modules["__main__"] = main
        self.send(ready=True, processes=not_forbidden)
        signal.signal(signal.SIGALRM, _raise_timeout)
        for index, step in enumerate(steps):
            self.state["step"] = current = dict(step, asked=False, replaced=[])
            refused = len(self.refused)
            self.send(at=index)
            if step["kind"] == "test":  # what the cells before changed is put back, and reported
                current["replaced"] = self.snapshot.changed()
                self.snapshot.restore()
            error, failure, lent = None, None, {}
            try:
                if step["kind"] == "test":
                    lent = self.lend_stand_ins(main.__dict__, self.receive()["stand_ins"])
                code = compile(transform(step["source"]), f"<cell {index + 1}>", "exec")
                if step["kind"] == "code":
                    signal.setitimer(signal.ITIMER_REAL, program["cell_timeout"])
                exec(code, main.__dict__)  # noqa: S102 - the learner's cell, in the sandbox
            except BaseException as err:  # noqa: BLE001 - the cell's own error, reported as the kernel would
                failure = getattr(err, "kind", None) if type(err).__name__ == "GradingError" else None
                error = _describe(err) if not isinstance(err, _CellTimeout) else \
                    f"the cell did not finish within {program['cell_timeout']:g} s"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                self.put_back(main.__dict__, lent)
            twin = f"torch's {self.refused[refused]}" if step["kind"] == "test" and len(self.refused) > refused else None
            self.send(done=index, error=error, failure=failure if isinstance(failure, str) else None,
                      replaced=current["replaced"], twin=twin)
            self.state["step"] = None
        self.send(end=True)


def _raise_timeout(signum, frame):
    raise _CellTimeout


def main() -> None:
    # The grader's channel, kept where the notebook's prints cannot reach it: its own copies of
    # stdin and stdout; the standard descriptors then lead nowhere (stderr stays: the grader
    # keeps its last lines for a crash of this process).
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - for the life of the process
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    try:
        Replay(read_fd, write_fd).run()
    except BrokenPipeError:
        os._exit(3)  # the grader went away or the notebook closed the channel: nothing to tell
    except BaseException:  # noqa: BLE001 - the grader reads stderr for why
        os.write(2, traceback.format_exc()[-4000:].encode())
        os._exit(2)
    os._exit(0)  # no atexit hook of the notebook's runs after the answers


if __name__ == "__main__":
    # as the module course_grader.replay, whose code the snapshot watches, not as __main__
    from course_grader.replay import main as replay_main
    replay_main()
