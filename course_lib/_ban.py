"""Forbidden operators refused in PyTorch's dispatcher itself, in every thread and by any path.

`ban_targets(ops)` lists the kernels that compute the operators of those normal names ("relu" for
torch.relu, F.relu, x.relu_(), torch.ops.aten.relu.default ...), on every dispatch key a CPU tensor
can reach them through. `Ban` replaces them for the length of a `with` block (course_lib/_guard.py,
around each call of a learner's graded function); `ban_for_good` replaces them for the rest of
the process, with no handle left to lift it (the grader's replay of a notebook).
"""
from __future__ import annotations

import functools
from collections.abc import Callable

from torch._C import _dispatch_dump, _dispatch_library

from course_lib.i18n import _


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
            raise ForbiddenCall(_("torch's {name} is not allowed here: it computes the answer this exercise asks for",
                                  name=name))
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
        return [_dispatch_dump(f"aten::{op}") for op in dict.fromkeys(op for op, _key, _name in self.targets)]

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
        return _("torch's {name}", name=self.calls[0]) if self.calls else None


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
            raise ForbiddenCall(_("torch's {name} is not allowed here: it computes the answer an exercise asks for",
                                  name=name))
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
