"""Checks for the exercise tests, each failing with one short message a learner can act on.

    out = call_safely(relu, z, name="relu")        # NotImplementedError -> "not implemented yet"
    assert_close(out, expected, name="relu", inputs={"z": z}, hint="negative inputs map to 0")
    check_raises(dropout, ValueError, x, 1.5, name="dropout")

A failed check raises GradingError (an AssertionError). Its message names the check and the input,
then the first thing that is wrong: the type, the shape, the dtype or the values (how many
differ, the largest errors, the first wrong element, nan and inf), never a dump of the tensors.

messages.py lays the message out, comparing.py judges an answer (assert_close), advice.py says
what to do about a wrong type, shape or dtype, calling.py calls the learner's function
(call_safely, check_raises). Messages are in the learner's language (course_lib/i18n.py).
"""
from course_lib.grading.calling import call_safely, check_raises
from course_lib.grading.comparing import assert_close
from course_lib.grading.messages import GradingError, describe

__all__ = ["GradingError", "assert_close", "call_safely", "check_raises", "describe"]
