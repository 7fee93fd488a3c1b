"""The course in a real JupyterLab, in a real (headless) browser.

nbval runs the lessons in a kernel; only a browser shows whether the widgets render in
JupyterLab, whether a slider really redraws its figure, and whether the formgrader opens. Here:

- every lesson in notebooks/ is opened in JupyterLab, run top to bottom (Run All), and must end
  with no error output, every code cell executed, at least one widget rendered, no formula that
  failed to render (MathJax's "Math input error" or any MathJax/KaTeX error element), and every
  slider of every kind (IntSlider, FloatSlider, SelectionSlider, ...) of every interactive figure
  must, moved one step with the keyboard, change its readout and the figure it drives (the
  <img> of the interactive figure's display is replaced); an interactive with dropdowns only
  gets another option chosen instead;
- released exercises (exercises/release/NN/NN.ipynb), with the reference solutions from
  exercises/source pasted into their solution cells, pass every visible test in JupyterLab: those
  in $BROWSER_SOLVED_EXERCISES (default 01_neurons and 06_mlp; "all" for every one). Every
  exercise's visible tests also run with its solutions under nbval in a kernel, in
  tests/test_nbgrader_pipeline.py; the browser adds JupyterLab's rendering, the same for each. The
  first release is also run blank: Run All stops at its first test cell with the course's "not
  implemented yet" message (what a learner sees first), not with a crash of the page;
- a release's setup and test cells (nbgrader's read-only cells) can be neither typed into nor
  deleted, while a solution cell can;
- nbgrader's formgrader (/formgrader) opens in the same JupyterLab and lists the assignments. That
  JupyterLab is started by `make lab` in a copy of the repository, as a user starts it.

Browser: Debian's Chromium (/usr/bin/chromium, installed by scripts/install_system_deps.sh)
driven by the pip package `playwright`; nothing is downloaded by the test. Without Chromium or
playwright the tests skip with the reason, except in CI (CI=true) where they fail.

One JupyterLab server per kind of check (lessons; exercises and formgrader), each with fresh
settings and workspaces, a random token, autosave and news off, serving a temporary copy of
the notebooks so nothing in the repository is modified. Lessons run one after another in one
browser, each in a new page whose kernel is shut down after it. A screenshot of each lesson's
interactive (after the slider moved) is saved to $BROWSER_ARTIFACTS_DIR (default
tests/artifacts/, gitignored) for CI to keep. Lessons run as long here as under nbval, plus
rendering: on two busy cores the MNIST lessons take minutes each (BROWSER_LESSONS selects some). With UPDATE_README_SCREENSHOT=1 the interactive
of the first lesson is also written, compressed, to docs/lesson_interactive.png for the README.
"""
from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from course_config import LESSONS  # noqa: E402

CHROMIUM = Path(os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS_DIR") or ROOT / "tests" / "artifacts")
README_SCREENSHOT = ROOT / "docs" / "lesson_interactive.png"
README_SCREENSHOT_LESSON = "01_neurons"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BIN = Path(sys.executable).parent
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
# Run All of one lesson: the slowest take about 90 s alone, several times that on a busy machine.
LESSON_RUN_TIMEOUT_S = int(os.environ.get("BROWSER_LESSON_TIMEOUT", 600))
EXERCISE_RUN_TIMEOUT_S = 120
REDRAW_TIMEOUT_S = 20          # a slider step must redraw its figure within this
NOT_IMPLEMENTED = "not implemented yet"  # course_lib.grading's message for an untouched function

pytestmark = pytest.mark.slow

# BROWSER_LESSONS=01_neurons,04_gradient_descent runs only those lessons (default: every lesson).
_SELECTED = [n for n in os.environ.get("BROWSER_LESSONS", "").split(",") if n] or LESSONS
LESSON_PATHS = [ROOT / "notebooks" / f"{name}.ipynb" for name in LESSONS
                if name in _SELECTED and (ROOT / "notebooks" / f"{name}.ipynb").exists()]
RELEASES = sorted(p for p in (ROOT / "exercises" / "release").glob("*/*.ipynb")
                  if p.stem == p.parent.name and ".ipynb_checkpoints" not in p.parts)


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser test must run in CI)", pytrace=False)
    pytest.skip(reason)


def _require_browser():
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found: run scripts/install_system_deps.sh "
                     "(apt-get install chromium, needs root)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is missing: pip install -e '.[dev]'")


# --------------------------------------------------------------------------- JupyterLab server

USER_SETTINGS = {
    # Never write the notebooks back, never ask about news or updates, keep every cell in the DOM
    # (windowed rendering would detach the widgets scrolled out of view).
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server serving `root` on a free localhost port, with its own state in `state`.

    With via_make, it is started by `make lab` in `root` (a copy of the repository), as a user
    starts it, with only this test's options added through LAB_ARGS; nbgrader's formgrader then
    finds `alembic` only if the Makefile puts the environment's bin/ on PATH, as it must for a user
    who never activated it.
    """

    def __init__(self, root: Path, state: Path, extra_env: dict[str, str] | None = None, via_make: bool = False):
        self.root, self.state = root, state
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        settings, workspaces = state / "lab-settings", state / "lab-workspaces"
        for plugin, values in USER_SETTINGS.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        workspaces.mkdir(parents=True, exist_ok=True)
        path_without_env = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and Path(d) != BIN]
        env = {**os.environ, **(extra_env or {}),
               "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
               "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
               # nbgrader's formgrader runs `alembic` from PATH; `make lab` must put it there itself
               "PATH": os.pathsep.join(path_without_env if via_make else [str(BIN), *path_without_env])}
        options = ["--no-browser", "--ip=127.0.0.1", f"--port={self.port}", f"--IdentityProvider.token={self.token}",
                   "--LabApp.expose_app_in_browser=True",
                   "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                   "--ServerApp.port_retries=0"]
        if via_make:  # the Makefile adds --notebook-dir=. and, as root, --allow-root
            cmd = ["make", "--no-print-directory", "lab", f"BIN={BIN}", f"LAB_ARGS={' '.join(options)}"]
        else:
            cmd = [str(BIN / "jupyter-lab"), *options, f"--ServerApp.root_dir={root}"]
            if os.geteuid() == 0:
                cmd.append("--allow-root")
        self.log_path = state / "jupyterlab.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not answer in 90 s:\n{self.log_tail()}")
                time.sleep(0.3)

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def open_url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.url}{path}{sep}token={self.token}"

    def log_tail(self, n: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_bytes()[-n:].decode(errors="replace")

    def shutdown_kernels(self):
        for kernel in self.api("GET", "/api/kernels"):
            try:
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
            except urllib.error.URLError:
                pass

    def stop(self):
        try:
            self.shutdown_kernels()
            self.api("POST", "/api/shutdown")
            self.proc.wait(timeout=20)
        except Exception:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self._log.close()


# --------------------------------------------------------------------------- browser

@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        context = b.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(60_000)
        yield context
        context.close()
        b.close()


# JavaScript run in the page, through the JupyterLab application object exposed as window.jupyterapp.
JS_WAIT_KERNEL = """async (path) => {
    const app = window.jupyterapp;
    let panel = null;
    for (let i = 0; i < 600 && !panel; i++) {
        const w = app.shell.currentWidget;
        if (w && w.context && w.context.path === path && w.sessionContext) panel = w;
        else await new Promise(r => setTimeout(r, 100));
    }
    if (!panel) return 'no notebook panel for ' + path;
    await panel.context.ready;
    await panel.sessionContext.ready;
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (!kernel) return 'no kernel';
    await kernel.info;
    for (let i = 0; i < 600 && kernel.status !== 'idle'; i++) await new Promise(r => setTimeout(r, 100));
    return kernel.status;
}"""

JS_RUN_ALL = """async (timeoutMs) => {
    const timeout = new Promise(r => setTimeout(() => r('timeout'), timeoutMs));
    const run = window.jupyterapp.commands.execute('notebook:run-all-cells');
    return String(await Promise.race([run, timeout]));
}"""

JS_CELLS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cells = panel.content.model.cells;
    const out = [];
    for (let i = 0; i < cells.length; i++) {
        const c = cells.get(i);
        const meta = c.getMetadata ? c.getMetadata('nbgrader') : undefined;
        out.push({type: c.type, source: c.sharedModel.getSource(), nbgrader: meta || null,
                  execution_count: c.type === 'code' ? c.executionCount : null,
                  outputs: c.type === 'code' ? c.outputs.toJSON() : []});
    }
    return out;
}"""


def _errors(cells: list[dict]) -> list[str]:
    found = []
    for i, c in enumerate(cells):
        for o in c["outputs"]:
            if o["output_type"] == "error":
                found.append(f"cell {i}: {o['ename']}: {o['evalue']}")
            elif o["output_type"] == "stream" and o.get("name") == "stderr":
                text = "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
                if "Traceback" in text:
                    found.append(f"cell {i}: traceback on stderr: {text[-300:]}")
    return found


def _not_run(cells: list[dict]) -> list[int]:
    return [i for i, c in enumerate(cells)
            if c["type"] == "code" and c["source"].strip() and c["execution_count"] is None]


def _open(context, lab: Lab, rel_path: str):
    """Open a notebook in a new page and wait for its kernel; return the page."""
    page = context.new_page()
    page.goto(lab.open_url(f"/lab/tree/{rel_path}?reset"))
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=90_000)
    status = page.evaluate(JS_WAIT_KERNEL, rel_path)
    assert status == "idle", f"{rel_path}: kernel not ready ({status})\n{lab.log_tail()}"
    return page


def _open_and_run(context, lab: Lab, rel_path: str, timeout_s: int):
    """Open a notebook in a new page, wait for its kernel, Run All; return (page, result, cells)."""
    page = _open(context, lab, rel_path)
    result = page.evaluate(JS_RUN_ALL, timeout_s * 1000)
    assert result != "timeout", f"{rel_path}: Run All did not finish in {timeout_s} s"
    return page, result, page.evaluate(JS_CELLS)


def _close(page, lab: Lab):
    page.close()  # without running beforeunload: the notebook was never meant to be saved
    lab.shutdown_kernels()


# --------------------------------------------------------------------------- lessons

@pytest.fixture(scope="module")
def lesson_lab(tmp_path_factory):
    _require_browser()
    served = tmp_path_factory.mktemp("lab-lessons")
    (served / "notebooks").mkdir()
    for path in LESSON_PATHS:
        shutil.copy2(path, served / "notebooks" / path.name)
    lab = Lab(served, tmp_path_factory.mktemp("lab-lessons-state"))
    yield lab
    lab.stop()


# Every ipywidgets slider (IntSlider, FloatSlider, SelectionSlider, ...) in either orientation.
# SelectionSlider's view has no .jupyter-widgets class: select on the slider classes alone.
SLIDER = ":is(.widget-slider, .widget-hslider, .widget-vslider)"
# A formula that failed: MathJax 3 (JupyterLab's default) marks it mjx-merror / data-mjx-error
# (a \x08 where \beta was gives "Math input error") and shows an undefined macro such as
# \undefinedmacro as red text (its noundefined extension); MathJax 2 .MathJax_Error, KaTeX .katex-error.
MATH_ERROR = ('mjx-merror, [data-mjx-error], mjx-mtext[style*="color: red"], .MathJax_Error, '
              '.katex-error')
MATH_ERROR_TEXT = "Math input error"


def _interactive_areas(page, control: str = SLIDER):
    """Output areas holding a control and an image: the interactive figures (course_lib.interactive)."""
    return (page.locator(".jp-Cell .jp-Cell-outputArea")
            .filter(has=page.locator(control))
            .filter(has=page.locator(".jp-OutputArea-output img")))


def _images(area) -> list[str]:
    return area.locator(".jp-OutputArea-output img").evaluate_all("els => els.map(e => e.src)")


def _math_errors(page) -> list[str]:
    """The formulas MathJax or KaTeX could not render, as the text they show (empty if none)."""
    notebook = page.locator(".jp-Notebook")
    found = notebook.locator(MATH_ERROR).evaluate_all(
        "els => els.map(e => (e.getAttribute('data-mjx-error') || e.closest('mjx-container')?.querySelector("
        "'mjx-assistive-mml')?.textContent || e.textContent || e.outerHTML).slice(0, 200))")
    if MATH_ERROR_TEXT in notebook.inner_text():
        found.append(MATH_ERROR_TEXT)
    return found


def _wait_for_math(page, timeout_s: float = 30) -> None:
    """Wait until MathJax stops adding typeset formulas (their count is steady for 1.5 s)."""
    formulas = page.locator(".jp-Notebook mjx-container")
    deadline, last, steady_since = time.monotonic() + timeout_s, -1, time.monotonic()
    while time.monotonic() < deadline:
        count = formulas.count()
        if count != last:
            last, steady_since = count, time.monotonic()
        elif time.monotonic() - steady_since > 1.5:
            return
        time.sleep(0.3)


def _move_slider_and_wait_for_redraw(page, area, index: int = 0) -> tuple[str, str]:
    """Press ArrowRight (ArrowLeft if at its maximum) on slider `index`; return readouts."""
    slider = area.locator(SLIDER).nth(index)
    readout = slider.locator(".widget-readout")
    before_readout, before_images = readout.inner_text(), _images(area)
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    for key in ("ArrowRight", "ArrowLeft", "ArrowLeft"):
        page.keyboard.press(key)
        if readout.inner_text() != before_readout:
            break
    after_readout = readout.inner_text()
    assert after_readout != before_readout, f"the slider's readout stayed at {before_readout!r}"
    return _wait_for_redraw(area, before_images, before_readout, after_readout)


def _pick_other_option_and_wait_for_redraw(page, area) -> tuple[str, str]:
    """For an interactive with dropdowns only: choose the first dropdown's next option."""
    select = area.locator(".jupyter-widgets.widget-dropdown select").first
    options = select.locator("option").all_inner_texts()
    before_readout, before_images = select.input_value(), _images(area)
    index = [o.strip() for o in options].index(before_readout.strip()) if before_readout.strip() in options else 0
    select.select_option(index=(index + 1) % len(options))
    return _wait_for_redraw(area, before_images, before_readout, select.input_value())


def _wait_for_redraw(area, before_images, before_readout, after_readout) -> tuple[str, str]:
    deadline = time.monotonic() + REDRAW_TIMEOUT_S
    while _images(area) == before_images:
        assert time.monotonic() < deadline, (
            f"moving the slider ({before_readout} -> {after_readout}) did not redraw the figure "
            f"within {REDRAW_TIMEOUT_S} s")
        time.sleep(0.2)
    return before_readout, after_readout


def _save_readme_screenshot(area):
    """A compact PNG of one interactive (controls and figure) for the README, at most 150 KB."""
    from PIL import Image, ImageOps

    image = Image.open(io.BytesIO(area.screenshot(animations="disabled"))).convert("RGB")
    # Trim the white margin the output area leaves right of the figure, keep a little padding.
    box = ImageOps.invert(image).point(lambda v: 255 if v > 8 else 0).getbbox()
    if box:
        pad = 10
        image = image.crop((max(box[0] - pad, 0), max(box[1] - pad, 0),
                            min(box[2] + pad, image.width), min(box[3] + pad, image.height)))
    image = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    README_SCREENSHOT.parent.mkdir(exist_ok=True)
    image.save(README_SCREENSHOT, optimize=True)
    assert README_SCREENSHOT.stat().st_size <= 150_000


@pytest.mark.skipif(not LESSON_PATHS, reason="no lesson notebooks in notebooks/")
@pytest.mark.parametrize("lesson", [p.stem for p in LESSON_PATHS])
def test_lesson_runs_in_jupyterlab_and_its_slider_redraws_the_figure(browser, lesson_lab, lesson):
    start = time.perf_counter()
    page, result, cells = _open_and_run(browser, lesson_lab, f"notebooks/{lesson}.ipynb",
                                        LESSON_RUN_TIMEOUT_S)
    try:
        ran_s = time.perf_counter() - start
        errors = _errors(cells)
        assert not errors, f"{lesson}: cells show errors in JupyterLab:\n" + "\n".join(errors)
        assert result == "true", f"{lesson}: Run All reported failure ({result})"
        assert not _not_run(cells), f"{lesson}: code cells not executed: {_not_run(cells)}"

        widgets = page.locator(".jp-Notebook .jupyter-widgets")
        assert widgets.count() > 0, f"{lesson}: no widget rendered"
        body = page.locator(".jp-Notebook").inner_text()
        assert "Error displaying widget" not in body, f"{lesson}: a widget failed to display"

        _wait_for_math(page)
        math = _math_errors(page)
        assert not math, f"{lesson}: formulas failed to render: {math}"

        with_sliders, with_dropdowns = _interactive_areas(page), _interactive_areas(page, ".widget-dropdown")
        assert with_sliders.count() + with_dropdowns.count() > 0, (
            f"{lesson}: no interactive figure (a slider or dropdown above a figure, "
            "course_lib.interactive.interactive_figure) rendered")
        moved = []
        for a in range(with_sliders.count()):  # every slider of every interactive
            area = with_sliders.nth(a)
            for k in range(area.locator(SLIDER).count()):
                before, after = _move_slider_and_wait_for_redraw(page, area, k)
                moved.append(f"slider {a}.{k}: {before} -> {after}")
        if not moved:  # interactives with dropdowns only
            area = with_dropdowns.first
            before, after = _pick_other_option_and_wait_for_redraw(page, area)
            moved.append(f"dropdown: {before} -> {after}")
        assert not _errors(page.evaluate(JS_CELLS)), f"{lesson}: moving the sliders raised an error"
        math = _math_errors(page)
        assert not math, f"{lesson}: formulas failed to render after the sliders moved: {math}"

        area.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"{lesson}.png"))
        if lesson == README_SCREENSHOT_LESSON and os.environ.get("UPDATE_README_SCREENSHOT"):
            _save_readme_screenshot(area)
        print(f"{lesson}: ran in {ran_s:.1f} s in JupyterLab; each redrew its figure: {'; '.join(moved)}")
    finally:
        _close(page, lesson_lab)


# --------------------------------------------------------------------------- exercises, formgrader

def _copy_course(dest: Path) -> Path:
    """The nbgrader course (exercises/) without any instructor's state."""
    ignore = shutil.ignore_patterns("gradebook.db*", "submitted", "autograded", "feedback",
                                    "grading_logs", ".nbgrader.log", ".ipynb_checkpoints", "__pycache__")
    shutil.copytree(ROOT / "exercises", dest, ignore=ignore)
    return dest


def _with_solutions(release: Path) -> nbformat.NotebookNode:
    """The released notebook with each solution cell replaced by the source's (reference) cell."""
    source = nbformat.read(ROOT / "exercises" / "source" / release.parent.name / release.name, as_version=4)
    reference = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(release, as_version=4)
    filled = 0
    for c in nb.cells:
        grade_id = c.metadata.get("nbgrader", {}).get("grade_id")
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution") and grade_id in reference:
            c.source, filled = reference[grade_id], filled + 1
    assert filled, f"{release}: no solution cell matched exercises/source"
    return nb


# What `make lab` needs of a clone: its Makefile, the files its set-up stamp depends on, lesson 1
# (which it opens), the root's nbgrader_config.py and the course.
MAKE_LAB_FILES = ["Makefile", "pyproject.toml", "course_grader/pyproject.toml", "constraints.txt",
                  "nbgrader_config.py", "notebooks/01_neurons.ipynb"]


@pytest.fixture(scope="module")
def course_lab(tmp_path_factory):
    """JupyterLab started by `make lab` in a copy of the repository, as a user starts it (serving
    the repository's root, no nbgrader setting in the environment, the environment not activated)."""
    _require_browser()
    if not shutil.which("make"):
        _unavailable("make not found: the exercises are served by `make lab`")
    repository = tmp_path_factory.mktemp("lab-course")
    for name in MAKE_LAB_FILES:
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, repository / name)
    _copy_course(repository / "exercises")
    # set up already: the stamp is newer than what it depends on, so make installs nothing
    (repository / ".venv").mkdir()
    (repository / ".venv" / ".installed").touch()
    lab = Lab(repository, tmp_path_factory.mktemp("lab-course-state"), via_make=True)
    yield lab
    lab.stop()


def _is_test_cell(cell: dict) -> bool:
    meta = cell.get("nbgrader") or {}
    return bool(meta.get("grade")) and not meta.get("solution")


needs_release = pytest.mark.skipif(
    not RELEASES, reason="no released exercise yet: exercises/release/NN/NN.ipynb appears once "
                         "the exercises are generated (nbgrader generate_assignment)")
release_ids = [p.parent.name for p in RELEASES] or ["none"]
_SOLVED = os.environ.get("BROWSER_SOLVED_EXERCISES", "01_neurons,06_mlp")
solved_ids = [name for name in release_ids if _SOLVED == "all" or name in _SOLVED.split(",")] or release_ids[:1]


@needs_release
@pytest.mark.parametrize("assignment", release_ids[:1])  # one is enough: the message is the course's
def test_blank_release_reports_not_implemented_in_its_first_test(browser, course_lab, assignment):
    rel = f"exercises/release/{assignment}/{assignment}.ipynb"
    page, result, cells = _open_and_run(browser, course_lab, rel, EXERCISE_RUN_TIMEOUT_S)
    try:
        errored = [i for i, c in enumerate(cells) if any(o["output_type"] == "error" for o in c["outputs"])]
        assert errored, f"{rel}: Run All of the blank exercise raised nothing"
        first = cells[errored[0]]
        assert _is_test_cell(first), (f"{rel}: the first error is in cell {errored[0]}, not a test cell: "
                                      f"{_errors(cells)[0]}")
        message = " ".join(o.get("evalue", "") for o in first["outputs"] if o["output_type"] == "error")
        assert NOT_IMPLEMENTED in message, f"{rel}: the first test says {message!r}, not {NOT_IMPLEMENTED!r}"
        page.locator(".jp-Notebook .jp-Cell").nth(errored[0]).scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"exercise_{assignment}_blank.png"))
    finally:
        _close(page, course_lab)


@needs_release
@pytest.mark.parametrize("assignment", solved_ids)
def test_release_with_reference_solutions_passes_its_visible_tests(browser, course_lab, assignment):
    release = course_lab.root / "exercises" / "release" / assignment / f"{assignment}.ipynb"
    solved = release.with_name(f"{assignment}_solved.ipynb")
    nbformat.write(_with_solutions(release), solved)
    rel = str(solved.relative_to(course_lab.root))
    page, result, cells = _open_and_run(browser, course_lab, rel, EXERCISE_RUN_TIMEOUT_S)
    try:
        errors = _errors(cells)
        assert not errors, f"{rel}: visible tests fail with the reference solutions:\n" + "\n".join(errors)
        assert result == "true" and not _not_run(cells), f"{rel}: not every cell ran ({result})"
        assert any(_is_test_cell(c) for c in cells), f"{rel}: no visible test cell"
        page.screenshot(path=str(ARTIFACTS / f"exercise_{assignment}_solved.png"))
    finally:
        _close(page, course_lab)


JS_TRY_DELETE = """async (index) => {
    const panel = window.jupyterapp.shell.currentWidget;
    panel.content.activeCellIndex = index;
    panel.content.deselectAll();
    await window.jupyterapp.commands.execute('notebook:delete-cell');
    return panel.content.model.cells.length;
}"""


def _type_into(page, index: int, text: str) -> None:
    """Click into the editor of cell `index` and type, as a learner would."""
    editor = page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)
    page.keyboard.press("Escape")  # back to command mode


@needs_release
def test_test_and_setup_cells_can_be_neither_edited_nor_deleted_in_jupyterlab(browser, course_lab):
    """nbgrader's generate_assignment (its LockCells step) marks the test and setup cells
    "editable": false and "deletable": false; JupyterLab must honour both. A solution cell, typed
    into and deleted the same way, shows that the keystrokes and the command do reach the page."""
    assignment = release_ids[0]
    rel = f"exercises/release/{assignment}/{assignment}.ipynb"
    page = _open(browser, course_lab, rel)
    try:
        before = page.evaluate(JS_CELLS)
        locked = {i: c for i, c in enumerate(before) if c["type"] == "code" and (c["nbgrader"] or {}).get("locked")}
        answer = next(i for i, c in enumerate(before) if c["type"] == "code" and (c["nbgrader"] or {}).get("solution"))
        kinds = {(c["nbgrader"] or {}).get("grade") for c in locked.values()}
        assert kinds == {True, False}, f"{rel}: expected a setup cell and test cells among {sorted(locked)}"

        for i in [*locked, answer]:
            _type_into(page, i, "\n# edited")
        after = page.evaluate(JS_CELLS)
        edited = [before[i]["nbgrader"]["grade_id"] for i in locked if after[i]["source"] != before[i]["source"]]
        assert not edited, f"{rel}: typing changed the read-only cells {edited}"
        assert after[answer]["source"] != before[answer]["source"], "typing into the solution cell changed nothing"

        for i in locked:
            assert page.evaluate(JS_TRY_DELETE, i) == len(before), (
                f"{rel}: the read-only cell {before[i]['nbgrader']['grade_id']} was deleted")
        assert [c["source"] for c in page.evaluate(JS_CELLS)] == [c["source"] for c in after]
        unlocked = next(i for i, c in enumerate(before) if c["type"] == "markdown" and not c["nbgrader"])
        assert page.evaluate(JS_TRY_DELETE, unlocked) == len(before) - 1, "deleting a plain cell did nothing"
    finally:
        _close(page, course_lab)


def test_formgrader_lists_the_assignments(browser, course_lab):
    """The formgrader of the JupyterLab that `make lab` starts finds the course in exercises/."""
    assignments = sorted(p.name for p in (course_lab.root / "exercises" / "source").iterdir() if p.is_dir())
    assert assignments, "exercises/source holds no assignment"
    page = browser.new_page()
    try:
        page.goto(course_lab.open_url("/formgrader"))
        # the table of assignments, once loaded, holds the first one or says it is empty
        page.get_by_text(re.compile(f"^{assignments[0]}$|No data available")).first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "formgrader.png"))
        listed = page.locator("body").inner_text()
        missing = [name for name in assignments if name not in listed]
        assert not missing, (f"the formgrader of `make lab` lists no {missing} (it shows: {listed[:300]!r}); "
                             f"the repository root's nbgrader_config.py should point it at exercises/\n"
                             f"{course_lab.log_tail()}")
    finally:
        page.close()
