"""tests/conftest.py's `needs` marker: a test that cannot run here is skipped, except under
CI=true, where it fails and says what the machine lacks (as the sandbox tests do without root)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PROBE = 'import pytest\n\n@pytest.mark.needs(False, "a unicorn")\ndef test_probe():\n    pass\n'


@pytest.mark.parametrize("ci,outcome", [("", "1 skipped"), ("true", "1 error")])
def test_a_missing_need_skips_outside_ci_and_fails_in_ci(tmp_path, ci, outcome):
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {**os.environ, "CI": ci}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rse", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert outcome in done.stdout, done.stdout
    assert ("lacks a unicorn" if ci else "needs a unicorn") in done.stdout, done.stdout
