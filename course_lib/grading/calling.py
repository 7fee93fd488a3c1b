"""Calling a learner's function: any exception becomes a GradingError that names the line at fault.

call_safely expects fn to return; check_raises expects it to raise a given error.
"""
from __future__ import annotations

import inspect
import linecache
import os
import re
import sysconfig
from collections.abc import Callable

import torch

from course_lib.exercise_rules import GRADED_TOPIC
from course_lib.grading.messages import describe, grading_error, shorten
from course_lib.i18n import _

# Captured at import, like the tensor functions in comparing.py.
_re_search, _signature = re.search, inspect.signature

# Frames in these folders are library code; the learner's line is the innermost frame elsewhere.
_COURSE_LIB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_DIRS = tuple({os.path.abspath(d) + os.sep for d in (
    *(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")),
    os.path.dirname(torch.__file__), _COURSE_LIB)})


def _is_library(code) -> bool:
    return os.path.abspath(code.co_filename).startswith(_LIBRARY_DIRS)


def not_implemented(err: Exception) -> bool:
    """err is an exercise stub's, not an operation torch lacks; the first traceback frame is our own call."""
    if not isinstance(err, NotImplementedError):
        return False
    tb = err.__traceback__.tb_next
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is None or not _is_library(tb.tb_frame.f_code)


def failure_lines(err: Exception, name: str | None = None) -> list[str]:
    """[what happened, where in the learner's code, and when that is another graded function than
    `name`, which]; the first traceback frame is our own call."""
    frames, tb = [], err.__traceback__.tb_next
    while tb is not None:
        frames.append((tb.tb_frame.f_code, tb.tb_lineno))
        tb = tb.tb_next
    if not_implemented(err):
        what = _("not implemented yet: replace `raise NotImplementedError()` with your code and run the cell")
    else:
        what = _("raised {error}", error=type(err).__name__ + (f": {shorten(err, 300)}" if str(err) else ""))
    own = [frame for frame in frames if not _is_library(frame[0])] or frames
    if not own:
        return [what]
    code, line = own[-1]
    file = code.co_filename
    place = (_("line {line} of the cell", line=line) if "ipykernel_" in file or file.startswith("<")
             else _("{file}, line {line}", file=os.path.basename(file), line=line))
    source = linecache.getline(file, line).strip()
    lines = [what, _("in {function}, {place}", function=code.co_name, place=place)
             + (f": {shorten(source, 120, collapse=False)}" if source else "")]
    helper = code.co_name
    if name and helper != name and GRADED_TOPIC.get(helper) and GRADED_TOPIC.get(helper) == GRADED_TOPIC.get(name):
        lines.append(_("the error is in your {helper}, which {name} calls: the grader tests {name} with a correct "
                       "{helper}, so fix {helper} first", helper=helper, name=name))
    return lines


def inputs_by_name(fn: Callable, args: tuple, kwargs: dict) -> dict:
    """fn's arguments by parameter name (arg0, arg1 ... where they do not bind), for messages."""
    try:
        return dict(_signature(fn).bind(*args, **kwargs).arguments)
    except (TypeError, ValueError):  # no signature (some builtins), or arguments that do not bind
        return {**{f"arg{i}": a for i, a in enumerate(args)}, **kwargs}


def call_safely(fn: Callable, *args, name: str, **kwargs):
    """fn(*args, **kwargs), with any exception turned into a short GradingError.

    An unfinished exercise (NotImplementedError) reads "not implemented yet"; any other
    exception gives its type and message and the line of the learner's code that raised it.
    """
    __tracebackhide__ = True
    try:
        return fn(*args, **kwargs)
    except Exception as err:  # whatever the learner's code raises, report it in two lines
        lines, kind = failure_lines(err, name), None if not_implemented(err) else "crash"
    raise grading_error(name, inputs_by_name(fn, args, kwargs), lines, None, kind) from None


def check_raises(fn: Callable, exc_type: type[BaseException] | tuple[type[BaseException], ...], *args,
                 name: str, hint: str | None = None, match: str | None = None, **kwargs) -> BaseException:
    """Raise GradingError unless fn(*args, **kwargs) raises exc_type; return the exception.

    match: a regular expression the error message must contain (re.search), e.g. "XOR".
    """
    __tracebackhide__ = True
    types = exc_type if isinstance(exc_type, tuple) else (exc_type,)
    wanted = _(" or ").join(t.__name__ for t in types)
    try:
        result = fn(*args, **kwargs)
    except types as err:
        if match is None or _re_search(match, str(err)):
            return err
        lines = [_("raised {error} as it should, but its message {message} does not match {match}",
                   error=type(err).__name__, message=repr(shorten(err, 150)), match=repr(match))]
    except Exception as err:  # the wrong kind of error
        lines = failure_lines(err)
        if not not_implemented(err):
            lines[0] = _("should raise {wanted} for this input, but {what}", wanted=wanted, what=lines[0])
    else:
        lines = [_("should raise {wanted} for this input, but returned {got}", wanted=wanted, got=describe(result))]
    raise grading_error(name, inputs_by_name(fn, args, kwargs), lines, hint) from None
