"""What every test module shares: the `needs` marker, which skips a test whose machine lacks
something, except under CI=true, where a test that cannot run fails and says why.

    @pytest.mark.needs(can_isolate(), "root, namespaces and cgroup v1")

Shared helpers live in modules of their own beside this file (nbgrader_course.py); test modules
never import each other.
"""
from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    """True in CI (CI=true, as GitHub Actions, GitLab and most runners set it)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs(available, what): skip without `what`, fail instead under CI=true")


def pytest_runtest_setup(item):
    for mark in item.iter_markers(name="needs"):
        available, what = mark.args
        if available:
            continue
        if in_ci():
            pytest.fail(f"this test must run in CI, but this machine lacks {what}", pytrace=False)
        pytest.skip(f"needs {what}")
