"""Which forbidden call a learner's function makes: its PyTorch twin or course_lib's answer.

Three watchers of the calling thread, each below the one before: a TorchFunctionMode sees torch.x,
F.x and Tensor.x alike; a TorchDispatchMode sees the operators those reach in PyTorch's dispatcher,
also when the code calls torch.ops.aten.x directly or runs under torch._C.DisableTorchFunction; a
profile hook sees the Python functions it enters. Each notes the first forbidden call (how it was
written) and lets it run. Below them, a Ban (course_lib/_ban.py) replaces the forbidden operators'
kernels in the dispatcher itself for the duration of the call: in every thread, by any path, they fail.
What none of them sees (autograd or a forbidden Python function run from another thread, code
that finds the ban in memory and lifts it) is listed in the README's table of what can go wrong;
the grader also reads the notebook's code (course_grader/static_twins.py).
"""
from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
from collections.abc import Callable

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode


def _op_name(func) -> str:
    """torch.sigmoid, x.sigmoid_, F.threshold ('_threshold'), torch.special.expit -> one name."""
    name = getattr(func, "__name__", "").strip("_")
    for prefix in ("special_", "linalg_"):
        name = name.removeprefix(prefix)
    return name


def _op_title(func) -> str:
    """How the learner wrote it: torch.sigmoid, Tensor.sigmoid, torch.nn.functional.softmax."""
    name = getattr(func, "__name__", repr(func))
    if "Tensor" in getattr(func, "__qualname__", "") or getattr(func, "__module__", None) is None:
        return f"Tensor.{name}"
    module = {"torch._C._nn": "torch.nn.functional", "torch._C._special": "torch.special",
              "torch._C._linalg": "torch.linalg"}.get(func.__module__, func.__module__)
    return f"{module}.{name.removeprefix('special_').removeprefix('linalg_')}"


def _aten_name(func) -> str:
    """aten::tanh_, aten::_softmax, aten::nll_loss_forward -> tanh, softmax, nll_loss."""
    return func.overloadpacket.__name__.strip("_").removesuffix("_forward")


_OURS = tuple(os.path.dirname(os.path.abspath(f)) + os.sep for f in (__file__, torch.__file__))


def _calling_function() -> str | None:
    """The innermost function on the stack that is neither course_lib's nor torch's: the learner's."""
    frame = sys._getframe(2)
    while frame is not None:
        if not os.path.abspath(frame.f_code.co_filename).startswith(_OURS):
            return frame.f_code.co_name
        frame = frame.f_back
    return None


class _Noting:
    """What both modes share: the forbidden names, the first one called (how it was written) and
    the learner's function that called it."""

    def __init__(self, names: frozenset[str]):
        super().__init__()
        self.names, self.used, self.caller = names, None, None

    def note(self, name: str, title: Callable[[object], str], func) -> None:
        if self.used is None and name in self.names:
            self.used, self.caller = title(func), _calling_function()


def _aten_title(func) -> str:
    return f"torch.ops.aten.{func.overloadpacket.__name__}"


class _Recorder(_Noting, TorchFunctionMode):
    """Notes the first forbidden torch function called; every call runs as it would anyway."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.note(_op_name(func), _op_title, func)
        return func(*args, **(kwargs or {}))


def _resolve(path: str) -> tuple[set, tuple[str, ...]]:
    """(code objects of the function or class at path, or the file or folder of the module at path)."""
    try:
        module = importlib.import_module(path)
    except ImportError:
        module_name, _dot, attr = path.rpartition(".")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            return set(), ()  # a topic not written yet
        members = vars(obj).values() if isinstance(obj, type) else [obj]
        functions = [inspect.unwrap(f) for f in members if callable(f)]
        return {f.__code__ for f in functions if hasattr(f, "__code__")}, ()
    file = module.__file__
    return set(), (os.path.dirname(file) + os.sep if file.endswith("__init__.py") else file,)


@functools.cache
def compile_forbidden(entries: tuple[str, ...]) -> tuple[frozenset, dict]:
    """("torch:NAME" -> op names; dotted paths -> {code object or file prefix: path})."""
    ops = frozenset(e.removeprefix("torch:") for e in entries if e.startswith("torch:"))
    python = {}
    for path in (e for e in entries if not e.startswith("torch:")):
        codes, files = _resolve(path)
        python.update({key: path for key in (*codes, *files)})
    return ops, python


def _python_watch(python: dict, used: list) -> Callable:
    """A sys.setprofile hook noting the first forbidden Python function that starts running."""
    files = tuple(key for key in python if isinstance(key, str))

    def profile(frame, event, arg):
        if event == "call" and not used:
            code = frame.f_code
            if code in python:
                used.append(python[code])
            elif files and code.co_filename.startswith(files):
                used.append(next(python[f] for f in files if code.co_filename.startswith(f)))
    return profile


class _DispatchRecorder(_Noting, TorchDispatchMode):
    """The same in the dispatcher, where every path to an operator of this thread arrives."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.note(_aten_name(func), _aten_title, func)
        return func(*args, **(kwargs or {}))


class Watch:
    """`with Watch(ops, python):` notes the first forbidden call made inside; used() names it."""

    def __init__(self, ops: frozenset[str], python: dict):
        self.recorder, self.dispatch, self.python, self.used_python = None, None, python, []
        if ops:  # the modes cost a little on every operator: only where some are forbidden
            self.recorder, self.dispatch = _Recorder(ops), _DispatchRecorder(ops)

    def __enter__(self):
        if self.recorder:
            self.recorder.__enter__()
            self.dispatch.__enter__()
        sys.setprofile(_python_watch(self.python, self.used_python))
        return self

    def __exit__(self, *exc):
        sys.setprofile(None)
        if self.recorder:
            self.dispatch.__exit__(*exc)
            self.recorder.__exit__(*exc)
        return False

    def used(self) -> str | None:
        for recorder in (self.recorder, self.dispatch):
            if recorder and recorder.used:
                return recorder.used
        return self.used_python[0] if self.used_python else None

    def caller(self) -> str | None:
        """The learner's function that made the first forbidden torch call, where seen."""
        return next((recorder.caller for recorder in (self.recorder, self.dispatch) if recorder and recorder.used), None)
