"""Binder and conda: what environment.yml builds has what the course needs, and the README says so.

Binder (repo2docker) builds the image from environment.yml; tests/test_packaging.py checks it
lists the same packages as pyproject.toml, so the course venv (.venv) is what Binder gets. Here:
the JupyterLab extensions the course needs (widgets, nbgrader's lab and server extensions) are
enabled in that environment, the Binder badge opens a notebook that exists, and the README's first
screen carries the badges and the screenshot of a lesson's interactive.
"""
from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "scripts"))
from course_config import binder_badge, colab_badge  # noqa: E402

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# extension -> the package in environment.yml that brings it
LAB_EXTENSIONS = {"@jupyter-widgets/jupyterlab-manager": "ipywidgets", "@jupyter/nbgrader": "nbgrader"}
SERVER_EXTENSIONS = {"jupyterlab": "jupyterlab", "nbgrader.server_extensions.formgrader": "nbgrader",
                     "nbgrader.server_extensions.validate_assignment": "nbgrader"}
README_SCREENSHOT = "docs/lesson_interactive.png"
FIRST_SCREEN_LINES = 30


@functools.cache
def _jupyter(*args: str) -> str:
    done = subprocess.run([str(BIN / "jupyter"), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return ANSI.sub("", done.stdout + done.stderr)


def _environment_pip() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    return next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in requirements if not r.startswith("-")}


@pytest.mark.parametrize("extension", LAB_EXTENSIONS)
def test_lab_extension_is_enabled_and_comes_from_environment_yml(extension):
    listing = _jupyter("labextension", "list")
    line = next((ln for ln in listing.splitlines() if ln.strip().startswith(extension + " ")), None)
    assert line, f"{extension} is not installed:\n{listing}"
    assert "enabled" in line and "OK" in line, f"{extension} is not enabled and OK: {line.strip()}"
    assert LAB_EXTENSIONS[extension] in _names(_environment_pip())


@pytest.mark.parametrize("extension", SERVER_EXTENSIONS)
def test_server_extension_is_enabled_and_comes_from_environment_yml(extension):
    listing = _jupyter("server", "extension", "list")
    lines = listing.splitlines()
    assert any(ln.strip() == f"{extension} enabled" for ln in lines), f"{extension} not enabled:\n{listing}"
    assert any(ln.strip().startswith(f"{extension} ") and ln.strip().endswith("OK") for ln in lines), (
        f"{extension} does not load:\n{listing}")
    assert SERVER_EXTENSIONS[extension] in _names(_environment_pip())


def test_environment_yml_local_references_exist_relative_to_the_repository():
    # repo2docker installs an environment.yml whose pip section has -c/-e lines after copying the
    # repository, from its root: the files they name must be there.
    for line in _environment_pip():
        if line.startswith(("-c", "-r", "-e")):
            target = line[2:].strip()
            assert (ROOT / target).exists(), f"environment.yml: {line!r} names a missing {target}"


def test_binder_badge_opens_the_first_lesson():
    url = re.search(r"\]\((https://mybinder\.org/[^)]+)\)$", binder_badge()).group(1)
    urlpath = parse_qs(urlparse(url).query)["urlpath"][0]
    assert urlpath.startswith("lab/tree/")
    assert (ROOT / urlpath.removeprefix("lab/tree/")).is_file(), f"the Binder badge opens a missing {urlpath}"


def test_readme_first_screen_has_colab_and_binder_badges_and_the_screenshot():
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:FIRST_SCREEN_LINES])
    missing = [what for what, text in [
        ("Colab badge of notebooks/01_neurons.ipynb", colab_badge("notebooks/01_neurons.ipynb")),
        ("Binder badge (course_config.binder_badge())", binder_badge()),
        (f"screenshot {README_SCREENSHOT}", README_SCREENSHOT)] if text not in first_screen]
    assert not missing, f"README.md's first {FIRST_SCREEN_LINES} lines lack: {missing}"


def test_readme_screenshot_is_a_compact_png():
    png = ROOT / README_SCREENSHOT
    assert png.is_file(), (f"{README_SCREENSHOT} is missing: UPDATE_README_SCREENSHOT=1 "
                           ".venv/bin/python -m pytest tests/test_browser.py -k 01_neurons")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size <= 150_000, f"{README_SCREENSHOT} is {png.stat().st_size} bytes, over 150 KB"
