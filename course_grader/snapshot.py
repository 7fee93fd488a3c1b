"""What the grader's code looked like before a notebook's code ran beside it; what that code changed;
and putting it back.

The replay (course_grader/replay.py) runs a submission's code in the same Python as the hidden
tests' answering. Before any of that code runs, `Snapshot` notes the namespaces the answering
relies on: the modules of course_lib's checks and course_grader's tests (their globals, their
functions' code and defaults, their classes, their tables), builtins, and torch's main namespaces.
`changed()` names what differs now; `restore()` puts it back, so that a rebound check or an
emptied table of forbidden calls is undone before each hidden test, and reported.

What a snapshot cannot see: objects reached through the garbage collector or C, and changes made
and undone within one call. The README's table of what can go wrong lists them.
"""
from __future__ import annotations

import sys
import types

_CONTAINERS = (dict, list, set)


class Snapshot:
    def __init__(self, modules: list[types.ModuleType], shallow: list[object], state: tuple[str, ...] = ()):
        """modules: noted in depth (functions, classes, tables); shallow: only their attributes;
        state: tables (module.name) that change as the checks run, left alone."""
        self.state = frozenset(state)
        self.namespaces: list[tuple[str, object, dict]] = []
        self.functions: list[tuple[str, types.FunctionType, tuple]] = []
        self.containers: list[tuple[str, object, object]] = []
        self.module_names = {m.__name__: m for m in modules}
        for module in modules:
            self._note(module.__name__, module, deep=True)
        for obj in shallow:
            self._note(getattr(obj, "__name__", repr(obj)), obj, deep=False)

    def _note(self, label: str, obj: object, deep: bool) -> None:
        saved = dict(vars(obj))
        self.namespaces.append((label, obj, saved))
        if not deep:
            return
        owner = getattr(obj, "__module__", None) if isinstance(obj, type) else obj.__name__
        for key, value in saved.items():
            name = f"{label}.{key}"
            if isinstance(value, types.FunctionType) and value.__module__ == owner:
                self.functions.append((name, value, (value.__code__, value.__defaults__, value.__kwdefaults__)))
            elif isinstance(value, type) and value.__module__ == owner and isinstance(obj, types.ModuleType):
                self._note(name, value, deep=True)
            elif type(value) in _CONTAINERS and not key.startswith("__") and name not in self.state:
                self.containers.append((name, value, type(value)(value)))
                if type(value) is dict:  # a registry's entries (hidden tests): their own attributes too
                    for entry_key, entry in value.items():
                        if hasattr(entry, "__dict__") and type(entry).__module__.startswith("course_"):
                            self.namespaces.append((f"{name}[{entry_key!r}]", entry, dict(vars(entry))))

    def changed(self) -> list[str]:
        found = [f"sys.modules[{name!r}]" for name, module in self.module_names.items()
                 if sys.modules.get(name) is not module]
        for label, obj, saved in self.namespaces:
            now = vars(obj)
            found += [f"{label}.{k}" for k in saved if k not in now or now[k] is not saved[k]]
            found += [f"{label}.{k}" for k in now if k not in saved and _watched_new(k, now[k])]
        for name, function, state in self.functions:
            if (function.__code__, function.__defaults__, function.__kwdefaults__) != state:
                found.append(name)
        for name, container, copy in self.containers:
            if _differs(container, copy):
                found.append(name)
        return list(dict.fromkeys(found))

    def restore(self) -> None:
        for name, module in self.module_names.items():
            sys.modules[name] = module
        for label, obj, saved in self.namespaces:
            now = vars(obj)
            extra = [k for k in now if k not in saved and _watched_new(k, now[k])]
            for key in extra:
                _delete(obj, key)
            for key, value in saved.items():
                if key not in now or now[key] is not value:
                    _set(obj, key, value)
        for _, function, (code, defaults, kwdefaults) in self.functions:
            function.__code__, function.__defaults__, function.__kwdefaults__ = code, defaults, kwdefaults
        for _, container, copy in self.containers:
            if _differs(container, copy):
                container.clear()
                container.update(copy) if not isinstance(container, list) else container.extend(copy)


def _watched_new(key: str, value) -> bool:
    """A name added since the snapshot that counts: not a submodule imported meanwhile, nor the
    class attribute copyreg caches when an object is pickled (torch.save), nor the registry the
    warnings module keeps in the module a warning is attributed to (torch's warning about x.T on a
    1-D tensor, raised inside the guard's torch mode, made an honest notebook look like tampering)."""
    return not isinstance(value, types.ModuleType) and key not in ("__slotnames__", "__warningregistry__")


def _differs(container, copy) -> bool:
    if type(container) is dict:
        return container.keys() != copy.keys() or any(container[k] is not copy[k] for k in copy)
    if type(container) is list:
        return len(container) != len(copy) or any(a is not b for a, b in zip(container, copy))
    return container != copy


def _set(obj, key, value) -> None:
    if isinstance(obj, type):
        type.__setattr__(obj, key, value)
    elif isinstance(obj, types.ModuleType):
        vars(obj)[key] = value
    else:
        object.__setattr__(obj, key, value)


def _delete(obj, key) -> None:
    if isinstance(obj, type):
        type.__delattr__(obj, key)
    elif isinstance(obj, types.ModuleType):
        del vars(obj)[key]
    else:
        object.__delattr__(obj, key)
