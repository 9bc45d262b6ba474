"""A drawing becomes a model's input the way its training digits were made (labcore.data.drawing)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

from labcore.data.drawing import MAX_POINTS, clean_strokes, drawing_to_input, ink_to_input, picture_to_ink, strokes_to_ink


def _line(a, b, n=20):
    return [[a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n] for i in range(n + 1)]


def _arc(cx, cy, rx, ry, t0, t1, n=40):
    return [[cx + rx * math.cos(t0 + (t1 - t0) * i / n), cy + ry * math.sin(t0 + (t1 - t0) * i / n)] for i in range(n + 1)]


def _seven(x0=0.55, y0=0.2, w=0.3, h=0.6):  # a plain 7: the bar, then the stem down to the left
    return [_line((x0, y0), (x0 + w, y0)) + _line((x0 + w, y0), (x0 + w / 3, y0 + h))[1:]]


DIGITS = {
    "7": _seven(),
    "1": [_line((0.5, 0.2), (0.5, 0.8))],
    "0": [_arc(0.5, 0.5, 0.2, 0.3, 0, 6.3)],
    "4": [_line((0.6, 0.2), (0.3, 0.6)) + _line((0.3, 0.6), (0.75, 0.6))[1:], _line((0.6, 0.35), (0.6, 0.85))],
    "3": [_arc(0.5, 0.35, 0.15, 0.15, -2.8, 1.57), _arc(0.5, 0.65, 0.17, 0.15, -1.57, 2.8)],
    "2": [_arc(0.5, 0.35, 0.18, 0.15, -3.1, 0.6) + _line((0.64, 0.44), (0.3, 0.8))[1:] + _line((0.3, 0.8), (0.72, 0.8))[1:]],
}


def _box(a: np.ndarray, level: float = 0.05) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(a > level)
    return rows.min(), rows.max(), cols.min(), cols.max()


def _mass_centre(a: np.ndarray) -> tuple[float, float]:
    yy, xx = np.mgrid[: a.shape[0], : a.shape[1]]
    return (yy * a).sum() / a.sum(), (xx * a).sum() / a.sum()


def test_a_large_drawing_in_a_corner_becomes_an_mnist_digit_centred_by_mass_in_a_20_pixel_box():
    x = drawing_to_input(_seven(x0=0.02, y0=0.02, w=0.6, h=0.95), (1, 28, 28))
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() == pytest.approx(1.0)
    r0, r1, c0, c1 = _box(x[0])
    assert 18 <= max(r1 - r0 + 1, c1 - c0 + 1) <= 21  # the longer side is 20 of 28, as MNIST's
    cy, cx = _mass_centre(x[0])
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1
    # the same 7, small and elsewhere on the pad: the same input (the pen follows the digit's size)
    small = drawing_to_input(_seven(x0=0.6, y0=0.6, w=0.12, h=0.24), (1, 28, 28))
    assert np.abs(small - x).mean() < 0.05


def test_for_8x8_digits_the_longer_side_fills_the_frame_centred_by_its_box():
    x = drawing_to_input(_seven(x0=0.0, y0=0.05, w=0.3, h=0.4), (1, 8, 8))
    assert x.shape == (1, 8, 8) and 0 <= x.min() and x.max() == pytest.approx(1.0)
    r0, r1, c0, c1 = _box(x[0], 0.1)
    assert (r0, r1) == (0, 7)  # full height, as scikit-learn's digits
    assert abs((c0 + c1) / 2 - 3.5) <= 1  # centred left to right
    assert 0.15 < x.mean() < 0.5  # strokes as thick as the training digits' (their mean is 0.3)


def test_a_colour_model_gets_three_equal_channels_and_no_ink_gives_nothing_to_read():
    x = drawing_to_input(DIGITS["0"], (3, 32, 32))
    assert x.shape == (3, 32, 32) and np.array_equal(x[0], x[2])
    assert drawing_to_input([], (1, 8, 8)) is None
    assert drawing_to_input([[]], (1, 8, 8)) is None
    assert not ink_to_input(np.zeros((50, 50)), (1, 28, 28)).any()


def test_strokes_from_the_browser_are_cleaned_and_capped():
    hostile = ["x", None, [[0.1, "a"], [True, 0.2], [float("nan"), 0.5], [0.2, 0.3, 0.4]], [[-3, 7], [0.5, 0.5]],
               {"a": 1}]
    clean = clean_strokes(hostile)
    assert len(clean) == 1 and clean[0].tolist() == [[0.0, 1.0], [0.5, 0.5]]  # clipped into the pad
    assert clean_strokes("nope") == [] and clean_strokes(None) == []
    many = clean_strokes([[[0.5, 0.5]] * 1000] * 100)
    assert sum(len(s) for s in many) == MAX_POINTS


def test_a_dot_and_strokes_draw_white_on_black():
    ink = strokes_to_ink([np.array([[0.5, 0.5]])], size=100)
    assert ink.shape == (100, 100) and ink[50, 50] == 1.0 and ink[0, 0] == 0.0


def test_a_drawing_saved_black_on_white_is_read_as_white_on_black_and_centred():
    from PIL import Image, ImageDraw

    img = Image.new("L", (200, 120), 255)
    ImageDraw.Draw(img).line([(10, 10), (60, 10), (30, 100)], fill=0, width=8)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    ink = picture_to_ink(buf.getvalue())
    assert ink[10, 30] > 0.9 and ink[110, 190] < 0.1  # the stroke is now the bright part
    x = ink_to_input(ink, (1, 28, 28))
    cy, cx = _mass_centre(x[0])
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1


def test_drawn_digits_read_right_with_the_labs_digits_cnn():
    from labcore.config import RunConfig
    from labcore.data import load_dataset
    from labcore.explain.features import predict_proba
    from labcore.train.trainer import Trainer

    torch.manual_seed(0)
    cfg = RunConfig().with_(train={"epochs": 5, "seed": 0})
    trainer = Trainer(cfg, load_dataset(cfg.data))
    trainer.fit()
    model = trainer.model.eval()
    read = {}
    for digit, strokes in DIGITS.items():
        p = predict_proba(model, torch.from_numpy(drawing_to_input(strokes, tuple(trainer.data.input_shape)))[None])[0]
        read[digit] = str(int(p.argmax()))
    assert read == {d: d for d in DIGITS}, read
