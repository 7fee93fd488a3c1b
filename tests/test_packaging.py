"""The ways to install the course describe the same dependencies."""
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])


def _environment_requirements() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, "environment.yml should have exactly one pip: section"
    return {r for r in pip_lists[0] if not r.startswith("-")}


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    in_pyproject, in_env = _pyproject_requirements(), _environment_requirements()
    assert in_env == in_pyproject, (
        f"only in pyproject.toml: {sorted(in_pyproject - in_env)}; "
        f"only in environment.yml: {sorted(in_env - in_pyproject)}")


def test_constraints_pin_the_torch_pair_that_works_together():
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    # torch 2.13.0+cpu with PyPI's torchvision fails at import; the tested pair is 2.14.1 / 0.29.1.
    assert pins == {"torch": "2.14.1", "torchvision": "0.29.1"}


def test_installed_torch_matches_the_pins():
    import torch
    import torchvision
    assert torch.__version__.split("+")[0] == "2.14.1"
    assert torchvision.__version__.split("+")[0] == "0.29.1"
