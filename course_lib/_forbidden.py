"""Which forbidden call a learner's function makes: its PyTorch twin or course_lib's answer.

Three watchers of the calling thread, each below the one before: a TorchFunctionMode sees torch.x,
F.x and Tensor.x alike; a TorchDispatchMode sees the operators those reach in PyTorch's dispatcher,
also when the code calls torch.ops.aten.x directly or runs under torch._C.DisableTorchFunction; a
profile hook sees the Python functions it enters. Each notes the first forbidden call (how it was
written) and lets it run. Below them, a Ban replaces the forbidden operators' kernels in the
dispatcher itself for the duration of the call: in every thread, by any path, they fail.
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

from torch._C import _dispatch_dump, _dispatch_library
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


class _Noting:
    """What both modes share: the forbidden names, and the first one called (how it was written)."""

    def __init__(self, names: frozenset[str]):
        super().__init__()
        self.names, self.used = names, None

    def note(self, name: str, title: Callable[[object], str], func) -> None:
        if self.used is None and name in self.names:
            self.used = title(func)


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
        module_name, _, attr = path.rpartition(".")
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


# Every dispatch key an aten operator of a CPU tensor can reach its kernel through: the backends
# (dense, sparse, MKL-DNN, quantized, nested), the composite kernels that decompose, autograd.
_BAN_KEYS = ("CPU", "SparseCPU", "SparseCsrCPU", "MkldnnCPU", "QuantizedCPU", "NestedTensorCPU", "Meta",
             "CompositeExplicitAutograd", "CompositeExplicitAutogradNonFunctional", "CompositeImplicitAutograd",
             "AutogradCPU", "AutogradNestedTensor", "Autograd")


def _normal_op_name(name: str) -> str:
    """aten::_softmax.out, aten::special_expit, aten::nll_loss_forward -> softmax, expit, nll_loss."""
    base = name.partition("::")[2].split(".")[0].strip("_").removesuffix("_forward")
    for prefix in ("special_", "linalg_"):
        base = base.removeprefix(prefix)
    return _ATEN_ALIASES.get(base, base)


_ATEN_ALIASES = {"cross_entropy_loss": "cross_entropy"}


@functools.cache
def ban_targets(ops: frozenset[str]) -> tuple[tuple[str, str, str], ...]:
    """(operator with overload, dispatch key, normal name) of every kernel that computes one of ops."""
    import torch
    targets = []
    for full in torch._C._dispatch_get_all_op_names():
        if full.startswith("aten::") and _normal_op_name(full) in ops:
            targets += [(full.partition("::")[2], key, _normal_op_name(full)) for key in _BAN_KEYS
                        if torch._C._dispatch_has_kernel_for_dispatch_key(full, key)]
    return tuple(targets)


class ForbiddenCall(RuntimeError):
    """Raised where a banned operator was called: it computes the answer the exercise asks for."""


class Ban:
    """`with Ban(ops):` every kernel of these operators (normal names, as "torch:NAME" entries give
    them) fails with ForbiddenCall, in every thread of the process and whatever path reaches it
    (torch.ops.aten, DisableTorchFunction, inference mode, sparse tensors); used() names the first.

    The kernels are replaced in PyTorch's dispatcher for as long as the block runs, then restored.
    The modes of Watch note only what the calling thread does, and let it run; a ban also stops the
    call, so that a computed answer cannot come from another thread either.
    """

    def __init__(self, ops: frozenset[str], targets: tuple[tuple[str, str, str], ...] | None = None):
        """targets: the kernels to replace, as ban_targets(ops) gives them; the grader's replay
        passes the ones the grader computed, which no code of the notebook could have changed."""
        self.ops, self.calls, self._library, self._entered = frozenset(ops), [], None, False
        self.targets = ban_targets(self.ops) if targets is None else tuple(targets)

    def _refuse(self, name: str) -> Callable:
        def refuse(*args, **kwargs):
            self.calls.append(name)
            raise ForbiddenCall(f"torch's {name} is not allowed here: it computes the answer this exercise asks for")
        return refuse

    def __enter__(self):
        if self._entered:  # once: entering again would also re-note what intact() compares with
            raise RuntimeError("a ban is entered once")
        self._entered = True
        if self.targets:
            import warnings
            self._library = _dispatch_library("IMPL", "aten", "")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "Overriding a previously registered kernel": on purpose
                for op, key, name in self.targets:
                    self._library.impl(op, key, self._refuse(name), False)
            self._registered = self._kernels()
        return self

    def _kernels(self) -> list[str]:
        return [_dispatch_dump(f"aten::{op}") for op in dict.fromkeys(op for op, _, _ in self.targets)]

    def intact(self) -> bool:
        """Whether the ban's kernels are still the dispatcher's (inside the block): code that found
        the ban in memory and lifted it shows here, unless it put look-alikes back."""
        return self._library is None or self._kernels() == self._registered

    def __exit__(self, *exc):
        if self._library is not None:
            self._library.reset()
            self._library = None
        return False

    def used(self) -> str | None:
        return f"torch's {self.calls[0]}" if self.calls else None


def ban_for_good(targets: tuple[tuple[str, str, str], ...]) -> list[str]:
    """Replace these kernels (as ban_targets gives them) for the rest of the process, with no way
    back: the dispatcher's handle is kept alive by a reference that no Python object holds, so no
    code can find it and lift the ban, and a kernel registered on top cannot reach the original.
    Returns the list in which each refused call notes its operator. The grader's replay of a
    notebook (course_grader/replay.py) calls it before any of the notebook's code runs."""
    import ctypes
    import warnings
    calls: list[str] = []

    def refuse_for(name: str) -> Callable:
        def refuse(*args, **kwargs):
            calls.append(name)
            raise ForbiddenCall(f"torch's {name} is not allowed here: it computes the answer an exercise asks for")
        return refuse
    if targets:
        library = _dispatch_library("IMPL", "aten", "")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Overriding a previously registered kernel": on purpose
            for op, key, name in targets:
                library.impl(op, key, refuse_for(name), False)
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(library))  # alive, unreachable: never reset
        del library
    return calls
