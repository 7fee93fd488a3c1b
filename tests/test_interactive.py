"""interactive_figure: one static figure that controls redraw in place."""
import ipywidgets as widgets
import matplotlib
import pytest

matplotlib.use("Agg")

from course_lib.interactive import interactive_figure  # noqa: E402


def _draw_line(fig, slope):
    ax = fig.subplots()
    ax.plot([0, 1], [0, slope])


def _line_end(fig):
    return fig.axes[0].lines[0].get_ydata()[-1]


def test_first_draw_uses_the_controls_default_values():
    view = interactive_figure(_draw_line, slope=widgets.FloatSlider(value=2.0, min=-3, max=3))
    assert len(view.figure.axes) == 1
    assert _line_end(view.figure) == 2.0


def test_moving_a_control_redraws_the_same_figure_without_stacking_axes():
    slider = widgets.FloatSlider(value=2.0, min=-3, max=3)
    view = interactive_figure(_draw_line, slope=slider)
    figure = view.figure
    slider.value = -1.5
    assert view.figure is figure
    assert len(figure.axes) == 1, "redraw must clear the figure before drawing again"
    assert _line_end(figure) == -1.5
    assert view.last_redraw_ms > 0


def test_redraw_accepts_overrides_for_benchmarks():
    view = interactive_figure(_draw_line, slope=widgets.FloatSlider(value=0.0))
    assert _line_end(view.redraw(slope=0.5)) == 0.5


def test_no_controls_is_an_error():
    with pytest.raises(ValueError, match="at least one control"):
        interactive_figure(_draw_line)


def test_a_control_must_be_a_widget():
    with pytest.raises(TypeError, match="'slope' must be an ipywidgets value widget"):
        interactive_figure(_draw_line, slope=1.0)
