"""The code's layout, read from the source (ast), so that it cannot rot: course_lib is what learners
use and never imports the grader; imports go one way with no circle anywhere; no module over 250
lines; each file opens with a docstring saying its one job; the grader's distribution lists every
one of its packages."""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("course_lib", "course_grader")
MAX_LINES = 250


def _source_files() -> dict[str, Path]:
    """Module name -> file, for every module of both packages (`course_grader` is its folder)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = _source_files()


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _imported(module: str, node: ast.AST) -> list[str]:
    """The modules of ours that an import statement in `module` loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            base = base[: len(base) - node.level + (1 if _is_package(module) else 0)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module
        # `from package import name` loads package.name when that is a module of its own.
        names = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in MODULES else prefix for a in node.names]
    else:
        return []
    found = []
    for name in names:
        while name and name not in MODULES:  # `import a.b.c` where c is an attribute
            name = name.rpartition(".")[0]
        if name:
            found.append(name)
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[module] = {m for node in ast.walk(tree) for m in _imported(module, node) if m != module}
    return graph


GRAPH = _graph()


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_reader_sees_relative_and_absolute_imports():
    # A guard against a reader that finds nothing: these edges are known to exist.
    assert "course_lib" in GRAPH["course_grader.hidden_test"] or any(
        m.startswith("course_lib") for m in GRAPH["course_grader.hidden_test"])
    assert any(m.startswith("course_grader.sandbox.") for m in GRAPH["course_grader.sandbox.zygote"])
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_course_lib_never_imports_the_grader():
    back = {m: sorted(d for d in deps if d.startswith("course_grader"))
            for m, deps in GRAPH.items() if m.startswith("course_lib")}
    assert not {m: d for m, d in back.items() if d}, "course_lib must not import course_grader"


def test_no_import_circles():
    assert _circles(GRAPH) == []


# The tests may be longer: a test module holds many small cases of one subject.
PROGRAMS = sorted({*MODULES.values(), *(p for folder in ("exercises", "scripts", "benchmarks")
                                         for p in (ROOT / folder).glob("*.py"))})


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_file_is_small_and_says_its_job(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_LINES, f"{path.name}: over {MAX_LINES} lines: split it by idea"
    assert ast.get_docstring(ast.parse(text)), f"{path.name}: open with a docstring that says its one job"


def test_the_grader_distribution_lists_every_package():
    config = tomllib.loads((ROOT / "course_grader" / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {m for m in MODULES if m.startswith("course_grader") and _is_package(m)}
    # folders of data alone (no Python in them) are listed too, so that setuptools ships them quietly
    data = {p for p in config["packages"] if not any((ROOT / p.replace(".", "/")).glob("*.py"))}
    assert set(config["packages"]) - data == packages


def test_learners_install_course_lib_alone():
    found = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert found["include"] == ["course_lib*"]
