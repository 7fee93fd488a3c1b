"""The one place that says where the course lives. Lessons, exercises and badges all read it."""

# The lessons in order come from the one list of topics (course_lib/exercise_rules.py).
from course_lib.exercise_rules import LESSONS  # noqa: F401 - re-exported for the scripts and tests

# The public repository learners install course_lib from (Colab) and open notebooks from.
REPO = "dl-fundamentals/course"
BRANCH = "main"
REPO_URL = f"https://github.com/{REPO}"



def colab_url(path: str) -> str:
    """Colab link for a notebook path inside the repository, e.g. 'notebooks/01_neurons.ipynb'."""
    return f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/{path}"


def colab_badge(path: str) -> str:
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(path)})")


def binder_badge() -> str:
    return (f"[![Binder](https://mybinder.org/badge_logo.svg)]"
            f"(https://mybinder.org/v2/gh/{REPO}/{BRANCH}?urlpath=lab/tree/notebooks/01_neurons.ipynb)")


# The kernel JupyterLab runs: a notebook that names another opens already modified.
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

# The first code cell of every lesson and exercise, kept identical by scripts/notebooks.py sync.
# COURSE_REPO can point elsewhere (a fork, or a local clone in the Colab test).
SETUP_CELL = f'''\
# Setup: the same first cell in every notebook of the course. On Colab it installs course_lib.
import os, subprocess, sys
COURSE_REPO = os.environ.get("COURSE_REPO", "git+{REPO_URL}.git")
if "google.colab" in sys.modules and subprocess.run([sys.executable, "-c", "import course_lib"]).returncode:
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", COURSE_REPO], check=True)

import torch
import matplotlib.pyplot as plt
from course_lib import cpus, style
torch.manual_seed(0)
threads = cpus.use_available_cpus()  # torch threads: the CPUs we may use that others leave free
style.use_course_style()             # legible figures: 100 dpi, 11 pt text, sharp on HiDPI screens'''


def setup_cell(language: str = "en") -> str:
    """SETUP_CELL, or in a translated notebook SETUP_CELL that first sets the course's language
    (course_lib's messages and figure labels follow COURSE_LANG)."""
    if language == "en":
        return SETUP_CELL
    imports = "import os, subprocess, sys\n"
    return SETUP_CELL.replace(imports, f'{imports}os.environ["COURSE_LANG"] = "{language}"\n', 1)
