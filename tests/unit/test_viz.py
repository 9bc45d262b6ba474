"""Figure builders: the right traces with the right data, text from the catalogue, empty inputs, speed."""

from __future__ import annotations

import base64
import io
import time

import numpy as np
import plotly.graph_objects as go
import pytest

from labcore.i18n import t
from labcore.metrics import classification_report
from labcore.viz import (
    BAD_COLOR,
    GOOD_COLOR,
    confusion_matrix_figure,
    decision_boundary_figure,
    grad_norm_figure,
    image_grid_figure,
    lr_figure,
    mosaic,
    per_class_figure,
    roc_figure,
    scatter2d_figure,
    training_curves_figure,
)
from labcore.viz.theme import MAX_POINTS, downsample


def history(n_steps: int, n_epochs: int, *, val: bool = True):
    per_epoch = n_steps / max(n_epochs, 1)
    steps = [
        {
            "step": i + 1,
            "epoch": (i + 1) / per_epoch,
            "loss": 2.0 / (1 + i / 50),
            "lr": 0.1 * 0.999**i,
            "grad_norm": 1.0 + (i % 7),
        }
        for i in range(n_steps)
    ]
    epochs = [
        {
            "epoch": e + 1,
            "step": int((e + 1) * per_epoch),
            "loss": 1.0 / (e + 1),
            "acc": 0.5 + 0.04 * e,
            "val_loss": 1.2 / (e + 1) if val else None,
            "val_acc": 0.45 + 0.04 * e if val else None,
            "seconds": 1.0,
            "samples_per_s": 500.0,
        }
        for e in range(n_epochs)
    ]
    return steps, epochs


def named(fig: go.Figure, name: str, yaxis: str = "y") -> list:
    return [tr for tr in fig.data if tr.name == name and (tr.yaxis or "y") == yaxis]


def annotation_texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


# --- training curves ---------------------------------------------------------------------------


def test_training_curves_three_epochs():
    steps, epochs = history(30, 3)
    fig = training_curves_figure(steps, epochs)
    (train_loss,) = named(fig, t("viz.train"))
    (val_loss,) = named(fig, t("viz.validation"))
    (train_acc,) = named(fig, t("viz.train"), "y2")
    (val_acc,) = named(fig, t("viz.validation"), "y2")
    assert len(train_loss.y) == len(val_loss.y) == 3
    np.testing.assert_allclose(train_loss.x, [1, 2, 3])
    np.testing.assert_allclose(val_loss.y, [1.2, 0.6, 0.4])
    np.testing.assert_allclose(val_acc.y, [0.45, 0.49, 0.53])
    assert train_acc.showlegend is False  # one legend entry per series, shared by both panels
    (step_trace,) = named(fig, t("viz.train_each_step"))
    assert len(step_trace.y) == 30
    assert fig.layout.xaxis.title.text == t("viz.epoch")
    assert fig.layout.xaxis2.title.text == t("viz.epoch")
    assert fig.layout.yaxis.title.text == t("viz.loss")
    assert fig.layout.yaxis2.title.text == t("viz.accuracy")
    assert fig.layout.yaxis2.tickformat == ".0%"
    assert fig.layout.yaxis.type == "linear"
    assert fig.layout.uirevision == "keep"


def test_training_curves_downsamples_long_step_series():
    steps, epochs = history(10_000, 20)
    steps[4321]["loss"] = 50.0  # a spike must survive thinning: it is what a student needs to see
    fig = training_curves_figure(steps, epochs)
    (step_trace,) = named(fig, t("viz.train_each_step"))
    assert len(step_trace.x) <= MAX_POINTS
    assert step_trace.x[0] == steps[0]["epoch"] and step_trace.x[-1] == steps[-1]["epoch"]
    assert step_trace.customdata[0] == 1 and step_trace.customdata[-1] == 10_000
    assert 50.0 in step_trace.y
    assert np.all(np.diff(step_trace.x) > 0)


def test_training_curves_empty_and_steps_only():
    fig = training_curves_figure([], [])
    assert annotation_texts(fig) == [t("viz.press_train")]
    # Both panels are still drawn (plotly hides axes no trace uses).
    assert {tr.yaxis or "y" for tr in fig.data} == {"y", "y2"}
    assert all(len(tr.x) == 0 for tr in fig.data)

    steps, _ = history(12, 1)
    fig = training_curves_figure(steps[:5], [])
    data = [tr for tr in fig.data if len(tr.x)]
    assert len(data) == 1 and data[0].name == t("viz.train_each_step")
    assert not fig.layout.annotations


def test_training_curves_log_loss_and_missing_validation():
    steps, epochs = history(40, 4, val=False)
    fig = training_curves_figure(steps, epochs, log_loss=True)
    assert fig.layout.yaxis.type == "log"
    assert not named(fig, t("viz.validation")) and not named(fig, t("viz.validation"), "y2")
    assert len(named(fig, t("viz.train"))) == 1


def test_unknown_language_falls_back_to_english():
    fig = training_curves_figure([], [], lang="xx")
    assert fig.layout.xaxis.title.text == t("viz.epoch")


def test_lr_and_grad_norm_figures():
    steps, _ = history(100, 2)
    steps[10]["grad_norm"] = 0.0  # cannot sit on a log axis
    fig = lr_figure(steps)
    assert len(fig.data) == 1
    np.testing.assert_allclose(fig.data[0].y, [s["lr"] for s in steps])
    np.testing.assert_allclose(fig.data[0].x, np.arange(1, 101))
    assert fig.layout.xaxis.title.text == t("viz.step")
    assert fig.layout.yaxis.title.text == t("viz.learning_rate")

    fig = grad_norm_figure(steps)
    assert fig.layout.yaxis.type == "log"
    assert fig.layout.yaxis.title.text == t("viz.grad_norm")
    assert np.isnan(fig.data[0].y[10]) and fig.data[0].y[11] == steps[11]["grad_norm"]

    for builder in (lr_figure, grad_norm_figure):
        empty = builder([])
        assert len(empty.data) == 0 and annotation_texts(empty) == [t("viz.press_train")]


def test_curves_are_fast():
    steps, epochs = history(2000, 50)
    training_curves_figure(steps, epochs)  # warm plotly's validators
    start = time.perf_counter()
    for _ in range(20):
        training_curves_figure(steps, epochs)
    assert (time.perf_counter() - start) / 20 < 0.05


def test_downsample_keeps_ends_and_extremes():
    np.testing.assert_array_equal(downsample(10, 1500), np.arange(10))
    values = np.sin(np.linspace(0, 60, 5000))
    values[1234], values[4000] = 9.0, np.nan
    idx = downsample(5000, 300, values)
    assert len(idx) <= 300 and idx[0] == 0 and idx[-1] == 4999
    assert np.all(np.diff(idx) > 0) and 1234 in idx
    even = downsample(5000, 300)
    assert len(even) <= 300 and even[0] == 0 and even[-1] == 4999


# --- classification ------------------------------------------------------------------------------


def _report(k: int, n: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), y] += 2
    prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return classification_report(y, prob, [f"class {i}" for i in range(k)])


def test_confusion_matrix_counts_and_normalised():
    report = _report(4)
    fig = confusion_matrix_figure(report.confusion, report.class_names)
    (heat,) = fig.data
    assert isinstance(heat, go.Heatmap)
    np.testing.assert_array_equal(heat.z, report.confusion)
    assert heat.texttemplate  # numbers printed in the cells
    assert list(fig.layout.xaxis.ticktext) == report.class_names
    assert fig.layout.xaxis.title.text == t("viz.predicted_class")
    assert fig.layout.yaxis.title.text == t("viz.true_class")
    assert fig.layout.yaxis.autorange == "reversed"  # first class on top
    assert fig.layout.yaxis.scaleanchor == "x"  # square cells

    norm = confusion_matrix_figure(report.confusion, report.class_names, normalize=True)
    np.testing.assert_allclose(np.asarray(norm.data[0].z).sum(1), 1.0)
    assert "%" in norm.data[0].texttemplate


def test_confusion_matrix_empty_row_and_many_classes():
    cm = np.array([[3, 1], [0, 0]])
    fig = confusion_matrix_figure(cm, ["a", "b"], normalize=True)
    np.testing.assert_allclose(fig.data[0].z, [[0.75, 0.25], [0.0, 0.0]])

    big = np.eye(30, dtype=int) * 5
    fig = confusion_matrix_figure(big, [str(i) for i in range(30)])
    assert fig.data[0].texttemplate is None  # unreadable at this size
    assert fig.data[0].showscale is True  # so the colours need a key


def test_roc_figure_names_carry_auc():
    report = _report(3)
    fig = roc_figure(report)
    curves = [tr for tr in fig.data if tr.name != t("viz.chance")]
    assert len(curves) == 3 and len(fig.data) == 4
    for trace in curves:
        name = trace.name.split(" (")[0]
        assert trace.name == t("viz.auc_label", name=name, auc=report.auc[name])
        assert f"{report.auc[name]:.3f}" in trace.name
    (chance,) = [tr for tr in fig.data if tr.name == t("viz.chance")]
    assert chance.line.dash == "dash"
    assert tuple(fig.layout.xaxis.range) == tuple(fig.layout.yaxis.range) == (0, 1)
    assert fig.layout.legend.title.text == t("viz.macro_auc", auc=report.auc["macro"])
    assert fig.layout.xaxis.title.text == t("viz.false_positive_rate")


def test_roc_figure_without_curves():
    report = classification_report(np.zeros(4, dtype=int), np.tile([0.9, 0.1], (4, 1)), ["a", "b"])
    fig = roc_figure(report)
    assert len(fig.data) == 1
    assert annotation_texts(fig) == [t("viz.roc_unavailable")]


def test_per_class_figure():
    report = _report(5)
    fig = per_class_figure(report)
    assert [tr.name for tr in fig.data] == [t("viz.precision"), t("viz.recall"), t("viz.f1")]
    for trace, column in zip(fig.data, ("precision", "recall", "f1"), strict=True):
        assert isinstance(trace, go.Bar)
        np.testing.assert_allclose(trace.y, report.per_class[column])
        assert list(trace.x) == report.class_names
    assert fig.layout.barmode == "group"


# --- images --------------------------------------------------------------------------------------


def test_mosaic_size_and_grayscale():
    rng = np.random.default_rng(0)
    images = rng.random((10, 1, 8, 6))
    out = mosaic(images, cols=4, pad=1, upscale=2)
    # 3 rows of 16-px tiles and 4 columns of 12-px tiles, with 1-px gaps around and between.
    assert out.shape == (3 * 16 + 4, 4 * 12 + 5, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 1], out[..., 2])
    # Second image (row 0, col 1) lands after one gap + one tile + one gap, each pixel a 2x2 block.
    tile = out[1:17, 1 + 12 + 1 : 1 + 12 + 1 + 12, 0]
    expected = np.round(images[1, 0] * 255).astype(np.uint8).repeat(2, 0).repeat(2, 1)
    np.testing.assert_allclose(tile, expected, atol=1)
    assert out[0, 0, 0] == 255  # padding is white by default


def test_mosaic_accepts_hw_and_rgb_and_clips():
    assert mosaic(np.zeros((3, 5, 5)), cols=3, pad=0, upscale=1).shape == (5, 15, 3)
    rgb = np.zeros((2, 3, 4, 4))
    rgb[:, 0] = 2.0  # out of range: clipped, not wrapped
    out = mosaic(rgb, cols=2, pad=0, upscale=1)
    assert out[..., 0].min() == 255 and out[..., 1].max() == 0
    assert mosaic(np.zeros((1, 1, 8, 8)), cols=1, pad=0).shape == (64, 64, 3)  # auto upscale to ~64 px


def test_image_grid_figure_titles_and_colours():
    images = np.random.default_rng(1).random((6, 1, 8, 8))
    titles = ["7", "1", "3 (8)", "2", "4", "5"]
    colors = [GOOD_COLOR, GOOD_COLOR, BAD_COLOR, GOOD_COLOR, GOOD_COLOR, GOOD_COLOR]
    fig = image_grid_figure(images, titles=titles, title_colors=colors, cols=3)
    (image,) = fig.data
    assert isinstance(image, go.Image)
    assert [a.text for a in fig.layout.annotations] == titles
    assert fig.layout.annotations[2].font.color == BAD_COLOR
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
    # The picture is sent small (the browser enlarges it crisply), not as a big upscaled array.
    height, width = _picture(image).shape[:2]
    assert height < 120 and width < 120
    # Titles sit above their own image, left to right then top to bottom.
    xs = [a.x for a in fig.layout.annotations]
    ys = [a.y for a in fig.layout.annotations]
    assert xs[0] < xs[1] < xs[2] and ys[0] == ys[1] < ys[3]


def _picture(image: go.Image) -> np.ndarray:
    """The pixels of an image trace, whether sent as a PNG `source` or as a raw `z` array."""
    if image.source:
        from PIL import Image

        header, data = image.source.split(",", 1)
        assert header == "data:image/png;base64"
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))))
    return np.asarray(image.z)


def test_image_grid_pixels_are_the_images():
    images = np.zeros((2, 1, 4, 4))
    images[1] = 1.0
    fig = image_grid_figure(images, cols=2)
    pixels = _picture(fig.data[0])
    assert pixels.shape[-1] == 4  # RGBA: gaps are transparent so light and dark pages both show through
    opaque = pixels[..., 3] == 255
    assert (pixels[opaque][:, :3].min(1) == pixels[opaque][:, :3].max(1)).all()  # gray stays gray
    values = set(pixels[opaque][:, 0].tolist())
    assert values == {0, 255}
    assert (pixels[..., 3] == 0).any()


def test_image_grid_figure_shapes_and_empty():
    assert isinstance(image_grid_figure(np.zeros((4, 28, 28))).data[0], go.Image)
    assert isinstance(image_grid_figure(np.zeros((4, 3, 32, 32)), cols=2).data[0], go.Image)
    empty = image_grid_figure(np.zeros((0, 1, 8, 8)))
    assert len(empty.data) == 0 and annotation_texts(empty) == [t("viz.no_images")]


# --- 2-D points ----------------------------------------------------------------------------------


def _toy(k: int, g: int = 30):
    rng = np.random.default_rng(k)
    X = rng.normal(size=(60, 2))
    y = rng.integers(0, k, 60)
    xx, yy = np.linspace(-2, 2, g), np.linspace(-1.5, 1.5, g + 5)
    logits = rng.normal(size=(g + 5, g, k))
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return xx, yy, probs, X, y, [f"class {i}" for i in range(k)]


def test_decision_boundary_binary():
    xx, yy, probs, X, y, names = _toy(2)
    fig = decision_boundary_figure(xx, yy, probs, X, y, names)
    heat = [tr for tr in fig.data if isinstance(tr, go.Heatmap)]
    assert len(heat) == 1
    np.testing.assert_allclose(heat[0].z, probs[..., 1], rtol=1e-6)
    assert any(isinstance(tr, go.Contour) for tr in fig.data)  # the P = 0.5 line
    points = [tr for tr in fig.data if isinstance(tr, go.Scatter)]
    assert [tr.name for tr in points] == names
    assert sum(len(tr.x) for tr in points) == len(X)
    assert fig.layout.yaxis.scaleanchor == "x"
    assert fig.layout.xaxis.title.text == t("viz.feature_1")


def test_decision_boundary_multiclass_image():
    xx, yy, probs, X, y, names = _toy(4)
    fig = decision_boundary_figure(xx, yy, probs, X, y, names)
    (image,) = [tr for tr in fig.data if isinstance(tr, go.Image)]
    picture = _picture(image)
    assert picture.shape[:2] == probs.shape[:2]  # one pixel per grid point, row = y
    assert image.x0 == xx[0] and image.y0 == yy[0]
    assert image.dx == pytest.approx(xx[1] - xx[0]) and image.dy == pytest.approx(yy[1] - yy[0])
    assert len([tr for tr in fig.data if isinstance(tr, go.Scatter)]) == 4


def test_blend_is_white_when_unsure_and_coloured_when_sure():
    from labcore.viz.points import _blend_image

    probs = np.array([[[1 / 3, 1 / 3, 1 / 3], [1.0, 0.0, 0.0]]])
    picture = _blend_image(probs, ["#FF0000", "#00FF00", "#0000FF"])
    assert picture[0, 0].tolist() == [255, 255, 255]
    assert picture[0, 1, 0] == 255 and picture[0, 1, 1] < 255 and picture[0, 1, 2] < 255


def test_scatter2d_figure():
    _, _, _, X, y, names = _toy(3)
    fig = scatter2d_figure(X, y, names)
    assert [tr.name for tr in fig.data] == names
    for k, trace in enumerate(fig.data):
        np.testing.assert_allclose(trace.x, X[y == k, 0], rtol=1e-6)
    assert fig.layout.yaxis.scaleanchor == "x"
    empty = scatter2d_figure(np.zeros((0, 2)), np.zeros(0), names)
    assert annotation_texts(empty) == [t("viz.no_points")]


def test_log_axes_label_their_ticks_as_plain_numbers():
    from labcore.viz.theme import log_axis

    axis = log_axis([0.23, 0.5, 2.3])
    assert axis["type"] == "log"
    assert axis["ticktext"] == ["0.1", "0.2", "0.5", "1", "2", "5", "10", "20", "50"]
    assert [float(x) for x in axis["ticktext"]] == pytest.approx(axis["tickvals"])
    wide = log_axis([1e-6, 1e3])  # many decades: powers of ten only
    assert wide["ticktext"][:2] == ["1e-06", "1e-05"] and len(wide["tickvals"]) == 10
    empty = log_axis([])  # before a run: still plain numbers (the Transfer page's empty chart read "5, 2, 1, 5, 2")
    assert empty["ticktext"] == ["0.1", "0.2", "0.5", "1", "2", "5", "10"] and empty["range"] == [-1, 1]
    assert log_axis([0.0, -1.0, float("nan")]) == empty


def test_the_race_and_training_charts_use_readable_log_ticks():
    from labcore.viz import training_curves_figure

    epochs = [{"epoch": e, "loss": 2.3 / e, "val_loss": 2.4 / e, "acc": 0.5, "val_acc": 0.5} for e in (1, 2, 3)]
    fig = training_curves_figure([], epochs, log_loss=True)
    assert fig.layout.yaxis.type == "log" and "0.5" in fig.layout.yaxis.ticktext


def test_a_live_learning_rate_change_is_marked_on_every_chart():
    from labcore.viz import grad_norm_figure, lr_figure

    steps = [{"step": i, "epoch": i / 10, "loss": 1.0, "acc": 0.5, "lr": 0.01 if i <= 40 else 0.1, "grad_norm": 1.0}
             for i in range(1, 81)]
    epochs = [{"epoch": e, "loss": 1.0, "val_loss": 1.0, "acc": 0.5, "val_acc": 0.5} for e in range(1, 9)]
    change = [(40, 4.0, 0.1)]
    curves = training_curves_figure(steps, epochs, lr_changes=change)
    assert [(sh.xref, sh.x0) for sh in curves.layout.shapes] == [("x", 4.0), ("x2", 4.0)]  # both panels, in epochs
    assert any(a.text == "lr → 0.1" for a in curves.layout.annotations)
    for fig in (lr_figure(steps, lr_changes=change), grad_norm_figure(steps, lr_changes=change)):
        assert [(sh.xref, sh.x0) for sh in fig.layout.shapes] == [("x", 40)]  # in steps
    assert not training_curves_figure(steps, epochs).layout.shapes  # no change, no line
