"""Interactive figures for the lessons that still read well where no widget can run.

`interactive_figure` draws a matplotlib figure once as an ordinary output (so GitHub, nbval and a
printed notebook show it) and then, in JupyterLab or Colab, redraws that same output in place
whenever a control changes. No second figure appears, and nothing slow belongs in `draw`: train
before, look up inside.

Saved before it runs, the cell shows the static figure under one plain line (PLACEHOLDER)
instead of the controls, which need a running kernel; scripts/notebooks.py keeps it that way.
"""
from __future__ import annotations

import io
import time
from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import Image, display
from matplotlib.figure import Figure

from course_lib.i18n import N_, _, shown

# What a notebook shows in place of the controls where no kernel runs them (the widget's text/plain).
PLACEHOLDER = N_("Run this cell to use the sliders and menus above the figure.")
HIDPI = 2  # PNG pixels per screen pixel: sharp on HiDPI ("retina") screens, the same size elsewhere


class InteractiveFigure:
    """A figure redrawn by `draw(fig, **values)` whenever one of `controls` changes."""

    def __init__(self, draw: Callable[..., None], controls: dict[str, widgets.ValueWidget],
                 figsize: tuple[float, float] | None = None):
        self.draw, self.controls = draw, controls
        self.figure: Figure = plt.figure(figsize=figsize)
        # The inline backend would show the figure again at the end of the cell; we display it ourselves.
        plt.close(self.figure)
        self.last_redraw_ms = 0.0
        self._handle = None
        for control in controls.values():
            style = getattr(control, "style", None)
            if style is not None and "description_width" in style.keys:
                control.style.description_width = "initial"  # the whole label, never "learning r…"
            control.observe(self._on_change, names="value")

    @property
    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def redraw(self, **values) -> Figure:
        """Draw with the controls' values (overridden by `values`); returns the figure."""
        start = time.perf_counter()
        self.figure.clear()
        self.draw(self.figure, **{**self.values, **values})
        if self._handle is not None:
            self._handle.update(self._png())
        self.last_redraw_ms = (time.perf_counter() - start) * 1000
        return self.figure

    def _png(self) -> Image:
        # Rendered once, as drawn: the inline backend's bbox_inches="tight" would draw it twice.
        # HIDPI times the pixels, shown at the figure's size: sharp on HiDPI screens.
        buffer = io.BytesIO()
        dpi = self.figure.dpi
        self.figure.savefig(buffer, format="png", dpi=HIDPI * dpi)
        width = round(self.figure.get_figwidth() * dpi)
        return Image(data=buffer.getvalue(), format="png", width=width)

    def _on_change(self, _change) -> None:
        self.redraw()

    def show(self) -> InteractiveFigure:
        box = widgets.HBox(list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
        # A plain line, not the repr HBox(children=(...)), where the widget cannot be shown
        display({"application/vnd.jupyter.widget-view+json": {
                    "version_major": 2, "version_minor": 0, "model_id": box.model_id},
                 "text/plain": shown(PLACEHOLDER)}, raw=True)
        self.redraw()
        self._handle = display(self._png(), display_id=True)
        return self


def interactive_figure(draw: Callable[..., None], figsize: tuple[float, float] | None = None,
                       **controls: widgets.ValueWidget) -> InteractiveFigure:
    """Show controls above a figure that `draw(fig, **values)` redraws on every change.

    Example:
        def draw(fig, slope):
            ax = fig.subplots()
            ax.plot(x, slope * x)
        interactive_figure(draw, slope=widgets.FloatSlider(value=1.0, min=-3, max=3))
    """
    if not controls:
        raise ValueError(_("interactive_figure needs at least one control, e.g. slope=FloatSlider(...)"))
    for name, control in controls.items():
        if not isinstance(control, widgets.ValueWidget):
            raise TypeError(_("control {name} must be an ipywidgets value widget (a slider, dropdown...), "
                              "got {type}", name=repr(name), type=type(control).__name__))
    return InteractiveFigure(draw, controls, figsize).show()
