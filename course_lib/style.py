"""The course's look for figures: dpi, font sizes and HiDPI images, set once by the setup cell.

A module of its own, apart from plotting.py: the grading kernel runs the setup cell too, and
plotting.py (which draws with the reference training helpers) is hidden from it.
"""
from __future__ import annotations

import matplotlib.pyplot as plt

from course_lib.figure_language import label_figures

DPI = 100           # figure dots per inch; in Jupyter the PNG holds twice that (HiDPI)
FONT_SIZE = 11      # points; the smallest text drawn (tick labels, legends) is at least 9
COURSE_STYLE = {
    "figure.dpi": DPI,
    "figure.figsize": (6, 3.5),
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE,
    "axes.labelsize": FONT_SIZE,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "figure.titlesize": 12,
}


def use_course_style() -> None:
    """Legible figures for the whole notebook: COURSE_STYLE's dpi and font sizes, HiDPI PNGs.

    In a Jupyter kernel, the inline backend is also told to send "retina" PNGs (drawn at twice
    the dpi, shown at the same size), so lines and text stay sharp on HiDPI screens. In a
    translated notebook figures are labelled in its language where a font draws it
    (course_lib/figure_language.py).
    """
    plt.rcParams.update(COURSE_STYLE)
    label_figures()
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is not None and "inline" in plt.get_backend():
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("retina")
