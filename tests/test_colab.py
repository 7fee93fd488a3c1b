"""The lessons as a learner on Google Colab meets them.

Every notebook's Colab badge (and every other Colab link in it) must open that very file of the
repository (course_config.colab_url of its path), and the shared setup cell must install
course_lib where it is missing and then let the lesson run.

The Colab imitation (`colab_env`, built once per test session in a temporary folder):

- a new venv, where torch, torchvision, numpy, matplotlib, ipywidgets and ipykernel are importable
  (as on Colab, which brings them) but course_lib is not: a `.pth` file names the course venv's
  site-packages. A plain path line in a .pth puts that folder on sys.path without processing the
  .pth files inside it, so the editable install's finder for course_lib is never loaded (checked);
- a fake `google.colab` package, imported by the kernel at start-up as Colab's kernel does, so
  the setup cell takes its Colab branch;
- the kernel is that venv's python running ipykernel_launcher, started in a folder holding only
  the notebook (Colab's /content: no repository around it);
- COURSE_REPO = git+file:// of a git repository made from the working tree (tracked and
  untracked-but-not-ignored files: what the next commit would hold), so the setup cell's
  `pip install` installs this course_lib. PIP_NO_INDEX=1 makes any download fail: pip must find
  torch & co. already satisfied. Build isolation is off (PIP_NO_BUILD_ISOLATION=0) and the new
  venv's old bundled setuptools removed, so the build uses the course venv's setuptools, offline.

The install runs once per session, from the first lesson's setup cell. Then, to stay within
about 6 minutes next to nbval (which already runs every lesson in full), each lesson runs its
setup cell and its first section (up to its second `## ` heading) in a fresh Colab kernel, and
the lessons in $COLAB_FULL_LESSONS (default: 01_neurons, the one the README opens, and
05_backprop; "all" for every lesson) run top to bottom. The MNIST lessons are left to nbval here:
they take minutes. Every module of the installed course_lib is imported, so a module missing from
the wheel (a subpackage the packaging forgot) fails here even if no first section uses it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from course_config import LESSONS, SETUP_CELL, colab_badge, colab_url  # noqa: E402
from notebooks import errors  # noqa: E402

LESSON_PATHS = [ROOT / "notebooks" / f"{n}.ipynb" for n in LESSONS if (ROOT / "notebooks" / f"{n}.ipynb").exists()]
EXERCISE_NOTEBOOKS = sorted(p for sub in ("source", "release") for p in (ROOT / "exercises" / sub).glob("*/*.ipynb")
                            if ".ipynb_checkpoints" not in p.parts)
FULL_LESSONS = os.environ.get("COLAB_FULL_LESSONS", "01_neurons,05_backprop")
CELL_TIMEOUT_S = 300
COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^)\s\"'>]+")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# --------------------------------------------------------------------------- badges and links

def _title_badge_path(path: Path) -> str:
    """The repository path a notebook's title badge should open: the release for exercises."""
    if path.parts[-3] == "source":  # exercises/source/NN/NN.ipynb is authored with its release's badge
        return f"exercises/release/{path.parent.name}/{path.name}"
    return _rel(path)


@pytest.mark.parametrize("path", LESSON_PATHS + EXERCISE_NOTEBOOKS, ids=_rel)
def test_notebook_title_has_the_colab_badge_of_its_own_path(path):
    nb = nbformat.read(path, as_version=4)
    title = nb.cells[0]
    expected = colab_badge(_title_badge_path(path))
    assert title.cell_type == "markdown" and expected in title.source, (
        f"{_rel(path)}: the first cell should carry {expected} (python scripts/notebooks.py sync)")


@pytest.mark.parametrize("path", LESSON_PATHS + EXERCISE_NOTEBOOKS, ids=_rel)
def test_every_colab_link_opens_a_notebook_of_the_repository(path):
    nb = nbformat.read(path, as_version=4)
    prefix = colab_url("")
    bad = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for url in COLAB_LINK.findall(cell.source):
            target = url.removeprefix(prefix) if url.startswith(prefix) else None
            if target is None:
                bad.append(f"{url}: not under {prefix} (course_config.REPO / BRANCH)")
            elif not (target.endswith(".ipynb") and ((ROOT / target).exists() or target.startswith("exercises/release/"))):
                bad.append(f"{url}: {target} is not a notebook of the repository")
            elif target.startswith("exercises/release/") and not (ROOT / "exercises" / "source" / Path(target).parent.name).exists():
                bad.append(f"{url}: no exercises/source/{Path(target).parent.name} to release it from")
    assert not bad, f"{_rel(path)}:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", LESSON_PATHS + EXERCISE_NOTEBOOKS, ids=_rel)
def test_first_code_cell_is_the_shared_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert first.source == SETUP_CELL, f"{_rel(path)}: run python scripts/notebooks.py sync"


# --------------------------------------------------------------------------- the Colab imitation

FAKE_COLAB = '''"""Stand-in for Colab's google.colab: its presence is what the course's setup cell checks."""
from types import SimpleNamespace

output = SimpleNamespace(enable_custom_widget_manager=lambda: None,
                         disable_custom_widget_manager=lambda: None)
'''


def _working_tree_repo(dest: Path) -> Path:
    """A git repository holding the working tree's files (what a commit now would hold)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    git = ["git", "-c", "user.name=course-test", "-c", "user.email=course-test@localhost", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q"], cwd=dest, check=True)
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "working tree"], cwd=dest, check=True)
    return dest


class ColabEnv:
    def __init__(self, base: Path):
        self.base = base
        self.venv = base / "venv"
        subprocess.run([sys._base_executable, "-m", "venv", str(self.venv)], check=True)
        self.python = self.venv / "bin" / "python"
        self.site = Path(subprocess.run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True).stdout.strip())
        # Colab's setuptools is recent; the one ensurepip bundles is older than pyproject's >=68.
        subprocess.run([self.python, "-m", "pip", "uninstall", "-q", "-y", "setuptools"], check=True,
                       env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        (self.site / "_course_parent_site.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        (self.site / "google" / "colab").mkdir(parents=True)  # no google/__init__.py: a namespace package
        (self.site / "google" / "colab" / "__init__.py").write_text(FAKE_COLAB)
        self.repo = _working_tree_repo(base / "repo")
        self.content = base / "content"
        self.content.mkdir()
        kernel_dir = base / "kernels" / "colab"
        kernel_dir.mkdir(parents=True)
        env = {"COURSE_REPO": f"git+file://{self.repo}", "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
               "PIP_DISABLE_PIP_VERSION_CHECK": "1", "VIRTUAL_ENV": str(self.venv),
               "PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
        (kernel_dir / "kernel.json").write_text(json.dumps({
            "argv": [str(self.python), "-m", "ipykernel_launcher", "-f", "{connection_file}",
                     "--IPKernelApp.exec_lines=import google.colab"],
            "display_name": "Colab imitation", "language": "python", "env": env}))
        self.kernel_dirs = [str(base / "kernels")]

    def run(self, cells: list, name: str) -> nbformat.NotebookNode:
        """Execute the cells as notebook `name` in a fresh Colab kernel, in the /content stand-in."""
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager
        from nbclient import NotebookClient

        nb = nbformat.v4.new_notebook(cells=[nbformat.from_dict(c) for c in cells])
        nb.metadata.kernelspec = {"name": "colab", "display_name": "Colab imitation", "language": "python"}
        nbformat.write(nb, self.content / f"{name}.ipynb")
        km = KernelManager(kernel_name="colab", kernel_spec_manager=KernelSpecManager(kernel_dirs=self.kernel_dirs))
        try:
            NotebookClient(nb, km=km, timeout=CELL_TIMEOUT_S,
                           resources={"metadata": {"path": str(self.content)}}).execute()
        finally:
            if km.has_kernel:  # nbclient leaves a kernel manager it did not create running
                km.shutdown_kernel(now=True)
        return nb


def _output_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


PROBE = """\
import importlib, pkgutil, sys, course_lib, torch, google.colab
for module in pkgutil.walk_packages(course_lib.__path__, "course_lib."):
    importlib.import_module(module.name)
print(course_lib.__file__)
print(torch.__file__)
print("google.colab" in sys.modules)
from course_lib.i18n import _, speaking  # the compiled catalog came with the package
with speaking("zh"):
    print(_("wrong dtype: expected {expected}, got {got}") != "wrong dtype: expected {expected}, got {got}")"""


@pytest.fixture(scope="session")
def colab_env(tmp_path_factory):
    if not LESSON_PATHS:
        pytest.skip("no lesson notebooks in notebooks/")
    if shutil.which("git") is None:
        pytest.skip("git is needed for COURSE_REPO=git+file://...")
    start = time.perf_counter()
    env = ColabEnv(tmp_path_factory.mktemp("colab"))
    check = subprocess.run([env.python, "-c", "import torch, torchvision, ipykernel, google.colab; import course_lib"],
                           cwd=env.content, capture_output=True, text=True)
    assert "No module named 'course_lib'" in check.stderr, (
        "course_lib must not be importable in the fresh Colab venv before the setup cell installs it:\n"
        + check.stdout + check.stderr)
    made_s = time.perf_counter() - start

    first = nbformat.read(LESSON_PATHS[0], as_version=4)
    setup = next(c for c in first.cells if c.cell_type == "code")
    nb = env.run([setup, nbformat.v4.new_code_cell(PROBE)], "install")
    assert not errors(nb), "the setup cell failed to install course_lib:\n" + "\n".join(errors(nb))
    course_file, torch_file, colab_seen, translated = _output_text(nb.cells[1]).split()[-4:]
    assert Path(course_file).is_relative_to(env.site), f"course_lib imported from {course_file}, not the Colab venv"
    assert not Path(torch_file).is_relative_to(env.venv), "pip reinstalled torch into the Colab venv"
    assert colab_seen == "True"
    assert translated == "True", "the installed course_lib lacks its Chinese messages (package data: locale/*.mo)"
    installed = sorted(p.name for p in env.site.iterdir())
    assert not [n for n in installed if n.lower().startswith(("torch", "numpy", "matplotlib"))], (
        f"pip installed more than course_lib: {installed}")
    print(f"Colab venv made in {made_s:.1f} s; setup cell installed course_lib in "
          f"{time.perf_counter() - start - made_s:.1f} s")
    return env


def _first_section(nb) -> list:
    """Cells up to the second level-2 heading: the title, the setup, the imports and section one."""
    cells, headings = [], 0
    for c in nb.cells:
        if c.cell_type == "markdown" and c.source.lstrip().startswith("## "):
            headings += 1
            if headings == 2:
                break
        cells.append(c)
    return cells


@pytest.mark.slow
@pytest.mark.parametrize("lesson", [p.stem for p in LESSON_PATHS])
def test_lesson_runs_on_colab(colab_env, lesson):
    nb = nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4)
    full = FULL_LESSONS.strip() == "all" or lesson in FULL_LESSONS.split(",")
    cells = nb.cells if full else _first_section(nb)
    for c in cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    start = time.perf_counter()
    ran = colab_env.run(cells, lesson)
    found = errors(ran)
    assert not found, f"{lesson} on Colab ({'whole lesson' if full else 'first section'}):\n" + "\n".join(found)
    print(f"{lesson}: {'whole lesson' if full else 'first section'} ({sum(c.cell_type == 'code' for c in cells)} "
          f"code cells) ran on the Colab imitation in {time.perf_counter() - start:.1f} s")
