"""Imported once by the forkserver of the class command (runs.py), so that every nbgrader run forked
from it starts warm: its work at import is its purpose, and nothing else imports it.

- nbgrader's command line, without rfc3987_syntax (1.5-3 s of start-up building a grammar for
  IRI strings that nbgrader's notebooks never hold);
- nbformat's compiled notebook schema, which each forked run would otherwise compile again:
  0.25 s of CPU per student.
"""
import sys

sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402
import nbgrader.apps.nbgraderapp  # noqa: E402, F401

for _relax in (False, True):
    nbformat.validator.get_validator(version=4, relax_add_props=_relax)
