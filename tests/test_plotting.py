"""Tests for course_lib.plotting, headless: each checks what was drawn, not how it looks."""
import matplotlib

matplotlib.use("Agg")  # no display needed; must precede pyplot's import

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from torch import nn  # noqa: E402

from course_lib import plotting  # noqa: E402
from course_lib.training import History  # noqa: E402

MAX_PIXELS = 1000  # width and height of any default figure, so notebooks stay small


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _images(ax):
    return [a for a in ax.get_children() if isinstance(a, AxesImage)]


def _assert_compact(fig):
    width, height = fig.get_size_inches() * fig.dpi
    assert width <= MAX_PIXELS and height <= MAX_PIXELS, f"figure is {width:.0f}x{height:.0f} px"


# ---- plot_history --------------------------------------------------------------------------------

def test_plot_history_draws_train_and_val_curves_of_loss_and_accuracy():
    history = History(train_loss=[1.0, 0.5, 0.3], train_acc=[0.5, 0.7, 0.9],
                      val_loss=[1.1, 0.7, 0.6], val_acc=[0.4, 0.6, 0.8], epoch_time=[1, 1, 1])
    fig = plotting.plot_history(history)
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["train", "val"]
    assert list(loss_ax.lines[1].get_ydata()) == history.val_loss
    assert list(acc_ax.lines[0].get_ydata()) == history.train_acc
    assert list(acc_ax.lines[0].get_xdata()) == [1, 2, 3], "epochs count from 1"
    assert acc_ax.get_ylabel() == "accuracy"
    _assert_compact(fig)


def test_plot_history_without_validation_draws_one_curve_per_panel():
    fig = plotting.plot_history(History(train_loss=[1.0, 0.5], train_acc=[0.6, 0.8]))
    assert [len(ax.lines) for ax in fig.axes] == [1, 1]


def test_plot_history_draws_on_given_axes():
    fig, axes = plt.subplots(1, 2)
    assert plotting.plot_history(History(train_loss=[1.0], train_acc=[0.5]), axes=axes) is fig
    assert len(axes[0].lines) == 1


# ---- plot_decision_boundary ----------------------------------------------------------------------

def test_plot_decision_boundary_fills_the_grid_and_scatters_the_data():
    X = torch.tensor([[-1.0, 0.0], [1.0, 2.0], [0.5, -1.0]])
    y = torch.tensor([0, 1, 1])
    seen = []

    def right_half(points):
        seen.append(points.shape)
        return (points[:, 0] > 0).long()

    ax = plotting.plot_decision_boundary(right_half, X, y, resolution=50)
    assert seen == [(2500, 2)], "the function is evaluated once on a resolution x resolution grid"
    contour, scatter = ax.collections
    assert len(contour.get_paths()) >= 2, "both classes should get a filled region"
    torch.testing.assert_close(torch.as_tensor(scatter.get_offsets().data, dtype=torch.float32), X)
    _assert_compact(ax.figure)


def test_plot_decision_boundary_runs_a_float32_model_on_float64_data_and_restores_its_mode():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 4), nn.Dropout(0.5), nn.Linear(4, 3)).train()
    X, y = torch.randn(10, 2, dtype=torch.float64), torch.arange(10) % 3
    ax = plotting.plot_decision_boundary(model, X, y, resolution=20)
    assert len(ax.collections) == 2 and model.training


def test_plot_decision_boundary_rejects_data_that_is_not_two_dimensional():
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        plotting.plot_decision_boundary(lambda p: p[:, 0].long(), torch.zeros(4, 3), torch.zeros(4))


# ---- show_images ---------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(10, 1, 8, 8), (10, 8, 8)], ids=["NCHW", "NHW"])
def test_show_images_draws_one_panel_per_image_titled_by_label(shape):
    images, labels = torch.rand(shape), torch.arange(10) % 10
    fig = plotting.show_images(images, labels, ncols=4)
    assert len(fig.axes) == 10, "3 rows of 4 minus the 2 unused cells"
    assert all(len(_images(ax)) == 1 for ax in fig.axes)
    assert [ax.get_title() for ax in fig.axes] == [str(i) for i in range(10)]
    assert _images(fig.axes[2])[0].get_array().shape == (8, 8)
    _assert_compact(fig)


def test_show_images_marks_wrong_predictions_in_red():
    labels, predictions = torch.tensor([3, 1, 4, 1]), torch.tensor([3, 7, 4, 1])
    fig = plotting.show_images(torch.rand(4, 1, 5, 5), labels, predictions)
    titles = [ax.title for ax in fig.axes]
    assert [t.get_text() for t in titles] == ["3", "7 (1)", "4", "1"]
    assert [to_rgba(t.get_color()) == to_rgba("red") for t in titles] == [False, True, False, False]


def test_show_images_keeps_colour_images_in_colour():
    fig = plotting.show_images(torch.randn(2, 3, 6, 6))
    assert _images(fig.axes[0])[0].get_array().shape == (6, 6, 3)


@pytest.mark.parametrize("args,match", [
    ((torch.rand(101, 4, 4),), "between 1 and 100 images"),
    ((torch.rand(3, 4, 4), torch.zeros(2)), r"labels must have shape \(3,\)"),
    ((torch.rand(3, 2, 4, 4),), "1 or 3 channels"),
    ((torch.rand(4, 4),), "3 or 4 dimension"),
], ids=["too_many", "label_count", "two_channels", "single_image"])
def test_show_images_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        plotting.show_images(*args)


# ---- plot_confusion_matrix -----------------------------------------------------------------------

def test_plot_confusion_matrix_writes_each_count_in_its_cell():
    cm = torch.tensor([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    ax = plotting.plot_confusion_matrix(cm, class_names=["cat", "dog", "eel"])
    assert len(_images(ax)) == 1
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert cells == {(i, j): str(cm[i, j].item()) for i in range(3) for j in range(3)}
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "eel"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")


@pytest.mark.parametrize("cm,names,match", [
    (torch.zeros(2, 3), None, r"square \(C, C\)"),
    (torch.zeros(2, 2), ["a"], "name all 2 classes"),
], ids=["not_square", "too_few_names"])
def test_plot_confusion_matrix_rejects_bad_input(cm, names, match):
    with pytest.raises(ValueError, match=match):
        plotting.plot_confusion_matrix(cm, names)


# ---- show_filters and show_feature_maps ----------------------------------------------------------

def test_show_filters_draws_each_kernel_on_one_symmetric_scale():
    conv = nn.Conv2d(3, 6, kernel_size=5)  # weight (6, 3, 5, 5) that requires grad
    fig = plotting.show_filters(conv.weight, in_channel=1)
    assert len(fig.axes) == 6
    image = _images(fig.axes[4])[0]
    torch.testing.assert_close(torch.as_tensor(image.get_array().data), conv.weight[4, 1].detach())
    low, high = image.get_clim()
    assert low == -high == -conv.weight[:, 1].abs().max().item()


@pytest.mark.parametrize("weight,kwargs,match", [
    (torch.zeros(4, 2, 3, 3), dict(in_channel=2), r"in_channel must be in \[0, 2\)"),
    (torch.zeros(4, 3, 3), {}, "4 dimension"),
], ids=["channel_out_of_range", "three_dimensional"])
def test_show_filters_rejects_bad_input(weight, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plotting.show_filters(weight, **kwargs)


@pytest.mark.parametrize("shape", [(5, 7, 7), (1, 5, 7, 7)], ids=["CHW", "1CHW"])
def test_show_feature_maps_draws_one_panel_per_channel(shape):
    maps = torch.rand(shape)
    fig = plotting.show_feature_maps(maps, ncols=4)
    assert len(fig.axes) == 5
    torch.testing.assert_close(torch.as_tensor(_images(fig.axes[3])[0].get_array().data), maps.reshape(5, 7, 7)[3])


def test_show_feature_maps_rejects_a_batch_of_several_samples():
    with pytest.raises(ValueError, match=r"one sample, \(1, C, H, W\)"):
        plotting.show_feature_maps(torch.rand(2, 5, 7, 7))


# ---- the course style ----------------------------------------------------------------------------

def test_course_style_is_legible_at_100_dpi_and_9_points_or_more():
    with plt.rc_context():
        plotting.use_course_style()
        assert plt.rcParams["figure.dpi"] >= 100
        sizes = {key: plt.rcParams[key] for key in ("font.size", "legend.fontsize", "xtick.labelsize",
                                                    "ytick.labelsize", "axes.labelsize", "axes.titlesize")}
        fig, ax = plt.subplots()
        ax.plot([0, 1], label="a")
        ax.legend()
        drawn = [t.get_fontsize() for t in (*ax.get_xticklabels(), *ax.get_legend().get_texts(), ax.xaxis.label)]
    assert min(drawn) >= 9, f"text below 9 pt: {drawn} from {sizes}"
