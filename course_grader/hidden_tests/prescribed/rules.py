"""The sentences the notebooks share (the rules box, the title cells) and the kinds of hidden case,
for the tables of basics.py and networks.py. Data only."""
from __future__ import annotations

# The rules box (exercises/authoring.py's rules), one constant per sentence.
KEEP_DTYPE = "float32 in gives float32 out, float64 in gives float64 out."
INPUTS_UNCHANGED = "**Never change an input tensor**: compute new tensors."
STAR_LEADING = "`(*, in)` allows `(in,)`, `(N, in)` and `(N, T, in)`"
STAR_ANY = "`(*)` allows any shape: a 0-dim tensor (shape `()`, one number) and an empty one (shape `(0,)`) too."
TIME = "**Time**: one call may take at most"
BUILD_IT_YOURSELF = ("a function scores no points if it calls course_lib's function of the same name or what the "
                     "table lists.")
ON_ITS_OWN = "its hidden tests run with a correct version of that other one"

# Keys for the kinds of case tests/test_prescribed.py recognises in what a hidden test draws.
FLOAT64 = "float64 inputs"
ZERO_DIM = "0-dim inputs"
EMPTY = "empty inputs"
EXTREME = "values of ±1e3 and more stay finite"
NON_CONTIGUOUS = "non-contiguous inputs"
GRADIENTS = "gradients reach the inputs"
RAISES = "raises ValueError"

# What the guard checks at every call of learner code (course_lib/_guard.py), whatever the name.
EVERY_CALL = {"no input changed in place": INPUTS_UNCHANGED, "time limit": TIME,
               "no forbidden call": BUILD_IT_YOURSELF}

ACTIVATIONS_FINITE = "in forms that stay finite for inputs as large as ±10⁴"  # 02's title cell
ELEMENTWISE = {FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY, EMPTY: STAR_ANY}
LOADER = "A *loader* is anything you can iterate over to get `(x, y)` batches"  # 06's title cell

