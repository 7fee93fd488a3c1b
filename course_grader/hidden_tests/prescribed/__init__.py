"""What each hidden test checks, and the released notebook's words that prescribe it.

For every graded name: {what its hidden test checks (a short key): a quote from the released
notebook, exact up to whitespace, that tells the learner so}. A quote comes from the name's own
cells (its markdown section, its solution cell with the docstring, its visible test cell with the
hints) or from the notebook's shared ones (the title cell and the rules box, whose sentences are
the constants of rules.py). tests/test_prescribed.py checks that every quote is in its notebook and that
every kind of case the hidden tests draw has its key here, so no hidden check goes unannounced.
Data only: nothing here runs or imports anything.
"""
from __future__ import annotations

from course_grader.hidden_tests.prescribed import basics, networks
from course_grader.hidden_tests.prescribed.rules import (  # noqa: F401 - the kinds, for the test
    EMPTY, EXTREME, FLOAT64, GRADIENTS, NON_CONTIGUOUS, RAISES, ZERO_DIM)

PRESCRIBED: dict[str, dict[str, str]] = {**basics.PRESCRIBED, **networks.PRESCRIBED}
