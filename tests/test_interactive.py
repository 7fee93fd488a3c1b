"""interactive_figure: one static figure that controls redraw in place."""
import ipywidgets as widgets
import matplotlib
import pytest

matplotlib.use("Agg")

from course_lib.interactive import PLACEHOLDER, interactive_figure  # noqa: E402


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


@pytest.mark.parametrize("control", [
    widgets.FloatSlider(description="learning rate", value=0.1, min=0, max=1),
    widgets.SelectionSlider(description="learning rate", options=[0.01, 0.1, 0.3], value=0.1),
    widgets.Dropdown(description="activation function", options=["relu", "tanh"], value="relu"),
], ids=["FloatSlider", "SelectionSlider", "Dropdown"])
def test_every_label_is_shown_in_full(control):
    interactive_figure(lambda fig, x: fig.subplots(), x=control)
    assert control.style.description_width == "initial", "a fixed label width cuts 'learning rate' short"


def test_saved_notebook_shows_one_plain_line_not_the_widget_repr(monkeypatch):
    shown = []
    monkeypatch.setattr("course_lib.interactive.display",
                        lambda obj, raw=False, display_id=None: shown.append(obj))
    interactive_figure(_draw_line, slope=widgets.FloatSlider(value=1.0))
    controls = shown[0]
    assert controls["text/plain"] == PLACEHOLDER
    assert "HBox" not in controls["text/plain"]
    assert controls["application/vnd.jupyter.widget-view+json"]["model_id"]


def test_figure_png_has_twice_the_pixels_shown_for_hidpi_screens():
    view = interactive_figure(_draw_line, figsize=(4, 3), slope=widgets.FloatSlider(value=1.0))
    image = view._png()
    shown_width = round(4 * view.figure.dpi)
    assert image.width == shown_width
    png_width = int.from_bytes(image.data[16:20], "big")  # the IHDR chunk holds the pixel width
    assert png_width == 2 * shown_width
