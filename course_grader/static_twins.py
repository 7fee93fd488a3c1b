"""The grader's own check, read from the notebook's code, that a graded function does not call its twin.

course_lib.exercise_checks.call fails a function that calls its PyTorch twin (torch.sigmoid in a
learner's sigmoid), but it runs in the learner's kernel, where the notebook's code can switch it
off or forge the answers sent to the grader. So the grader (course_grader/sealed_execute.py, in
nbgrader's process) also reads the code: the definition of each graded name in force when its
test cell runs, every helper of the notebook it names (followed as far as they go), and in them
any reference to an entry of course_lib.exercise_rules.FORBIDDEN[name], the list the kernel's guard uses:

    torch.sigmoid(z)   z.sigmoid()   z.sigmoid_()   F.softmax (after import torch.nn.functional as F)
    from torch import sigmoid        from torch.nn.functional import softmax as sm
    getattr(torch, "sigmoid")        torch.nn.Sigmoid()        course_lib.activations.sigmoid
    course_grader.stand_ins.linear (any of the grader's code)

A twin named in a comment or a string is not code, so it is fine. Out of reach: code built while
the notebook runs (getattr with a computed name, eval, exec, a module the notebook writes).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from course_lib.exercise_rules import FORBIDDEN
from course_lib.i18n import _


class _Getattr(ast.NodeTransformer):
    """getattr(x, "name") reads as x.name."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if (isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            return ast.copy_location(ast.Attribute(node.args[0], node.args[1].value, ast.Load()), node)
        return node


def parse(source: str) -> ast.Module | None:
    """A cell's code as Python (IPython's magics translated), or None if it does not parse."""
    if source.lstrip().startswith("%%"):  # %%capture, %%time ...: the rest of the cell is Python
        source = source.lstrip().partition("\n")[2]
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        source = TransformerManager().transform_cell(source)
    except ImportError:
        pass
    try:
        return _Getattr().visit(ast.parse(source))
    except SyntaxError:  # the kernel cannot run it either, so it defines nothing
        return None


def _imported(stmt: ast.Import | ast.ImportFrom) -> dict[str, str]:
    """name -> dotted path it is bound to: `import torch.nn.functional as F` gives F."""
    if isinstance(stmt, ast.Import):
        return {a.asname or a.name.partition(".")[0]: a.name if a.asname else a.name.partition(".")[0]
                for a in stmt.names}
    module = "." * stmt.level + (stmt.module or "")
    return {a.asname or a.name: f"{module}.{a.name}" for a in stmt.names}


def _op(name: str) -> str:
    """torch.sigmoid, z.sigmoid_(), nn.Sigmoid -> "sigmoid": the guard's name for an op (special_expit
    is "expit"), in lower case and without underscores, so that nn.Sigmoid and nn.MSELoss match too."""
    name = name.strip("_").lower()
    for prefix in ("special_", "linalg_"):
        name = name.removeprefix(prefix)
    return name.replace("_", "")


@dataclass
class Bindings:
    """What each module-level name of a notebook refers to, after some of its cells ran: a dotted
    path (an import) or the code that defines it (def, class, or the value assigned)."""
    names: dict[str, str | ast.AST] = field(default_factory=dict)
    star: list[str] = field(default_factory=list)  # modules imported with *

    def run(self, source: str) -> None:
        """Note the bindings one cell makes, as running it would: the last one wins."""
        tree = parse(source)
        if tree is not None:
            self._bind(tree.body)

    def _bind(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.names[stmt.name] = stmt
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for name, path in _imported(stmt).items():
                    if name == "*":
                        self.star.append(path.removesuffix(".*"))
                    else:
                        self.names[name] = path
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for target in targets:  # a, b = torch.relu, f: both read the whole value
                    self.names.update({n.id: stmt.value for n in ast.walk(target) if isinstance(n, ast.Name)})
            else:  # if, for, while, with, try at the top level: their bodies bind names too
                for part in ("body", "orelse", "finalbody"):
                    self._bind(getattr(stmt, part, []))
                for handler in getattr(stmt, "handlers", []):
                    self._bind(handler.body)

    def defines(self, name: str) -> bool:
        """Whether the code read so far binds name where this reader sees it (not through exec)."""
        return name in self.names


def twin_call(bindings: Bindings, name: str, lent: tuple[str, ...] = ()) -> str | None:
    """Why the graded `name`, as bound, calls what it must write itself (a message), or None.
    lent: names the grader replaces by its stand-ins while name is tested, so not followed."""
    forbidden = FORBIDDEN.get(name, ())
    ops = {_op(e.removeprefix("torch:")) for e in forbidden if e.startswith("torch:")}
    # and the grader's own code, whose stand-ins (course_grader/stand_ins.py) compute graded names
    paths = [e for e in forbidden if not e.startswith("torch:")] + ["course_grader"]

    def forbidden_path(path: str) -> bool:
        parts = path.split(".")
        if parts[:3] == ["torch", "ops", "aten"] and len(parts) > 3:  # torch.ops.aten.relu.default: relu
            return _op(parts[3]) in ops
        return (parts[0] == "torch" and _op(parts[-1]) in ops) or \
            any(path == p or path.startswith(p + ".") for p in paths)

    def message(what: str, via: str | None) -> str:
        kind = (_("course_lib's own answer") if what.startswith("course_lib") else
                _("the grader's own code") if what.startswith("course_grader") else _("its PyTorch twin"))
        through = _(" (through {via})", via=via) if via else ""
        return _("{name} calls {what}{through}, {kind}: write it from scratch", name=name, what=what,
                 through=through, kind=kind)

    seen: set[str] = set()

    def read(node: ast.AST, via: str | None) -> str | None:
        """The first forbidden reference in node or in the notebook's code it names."""
        imports = {k: v for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))
                   for k, v in _imported(n).items()}
        # Parameters and names assigned inside: their values come from code read here, or from the caller.
        local = {n.arg for n in ast.walk(node) if isinstance(n, ast.arg)} | \
                {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
        called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}

        def bound(identifier: str) -> list[str | ast.AST]:
            if identifier in imports:
                return [imports[identifier]]
            if identifier in local or identifier in lent:
                return []
            if identifier in bindings.names:
                return [bindings.names[identifier]]
            starred = [f"{module}.{identifier}" for module in bindings.star]
            return starred or (["torch"] if identifier == "torch" else [])

        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute):
                parts, root = [sub.attr], sub.value
                while isinstance(root, ast.Attribute):
                    parts, root = [root.attr, *parts], root.value
                roots = [b for b in bound(root.id) if isinstance(b, str)] if isinstance(root, ast.Name) else []
                for path in (".".join([r, *parts]) for r in roots):
                    if forbidden_path(path):
                        return message(path, via)
                if not roots and id(sub) in called and _op(sub.attr) in ops:  # z.sigmoid(), (z * 2).relu_()
                    base = sub.value.id if isinstance(sub.value, ast.Name) else "Tensor"
                    return message(f"{base}.{sub.attr}()", via)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
                for target in bound(sub.id):
                    if isinstance(target, str) and forbidden_path(target):
                        return message(target, via)
                    if isinstance(target, ast.AST) and sub.id not in seen:
                        seen.add(sub.id)
                        found = read(target, via or (sub.id if sub.id != name else None))
                        if found:
                            return found
        return None

    return read(ast.Name(name, ast.Load()), None)
