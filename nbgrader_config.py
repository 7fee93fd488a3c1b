"""nbgrader's configuration for JupyterLab started at the repository root, as `make lab` starts it.

The course is exercises/, whose nbgrader_config.py holds every setting. Naming its folder is enough:
nbgrader reads the nbgrader_config.py of CourseDirectory.root after this file, so the formgrader,
and nbgrader's commands run from here, find the assignments and grade them as from exercises/.
"""
import os

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file
c.CourseDirectory.root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "exercises")
