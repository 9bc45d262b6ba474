"""The Convolution page's numbers (labcore.basics.convolution): the feature map is F.conv2d's (and agrees with
scipy's independent cross-correlation), the output-size formula matches the shape torch gives over a grid of
settings, the parameter calculator gives the book's Table 7.1, and bad kernels or uploads are refused with a reason."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from scipy.signal import correlate2d

from labcore import links
from labcore.basics import convolution as cv
from labcore.basics.conv_figures import arithmetic_figure, grid_figure, pooling_figure, window_figure
from labcore.i18n import LabError


@pytest.mark.parametrize(("source", "kernel", "padding"),
                         [("digits", "edge_vertical", False), ("shapes", "sobel_x", True), ("photo", "sharpen", False)])
def test_feature_map_is_f_conv2d_and_every_stop_sums_its_products(source, kernel, padding):
    image, k = cv.load_image(source, 1), cv.kernel_tensor(kernel)
    assert image.shape == cv.IMAGE_SIZES[source] and 0 <= image.min() and image.max() <= 1
    p = 1 if padding else 0
    direct = F.conv2d(image[None, None], k[None, None], padding=p)[0, 0]
    n = cv.positions(source, 3, padding)
    assert n == direct.numel()
    for pos in (0, 1, n // 2, n - 1):
        win = cv.window(image, k, pos, padding)
        assert torch.equal(win.fmap, direct)
        assert divmod(pos, direct.shape[1]) == (win.row, win.col)
        assert win.value == pytest.approx(float(direct[win.row, win.col]), abs=1e-6)
        assert float(win.products.sum()) == pytest.approx(win.value, abs=1e-5)  # the arithmetic on screen adds up
        padded = np.pad(image.numpy(), p)
        assert np.allclose(win.patch.numpy(), padded[win.row : win.row + 3, win.col : win.col + 3])
    # the book's Eq. 7.3 is cross-correlation: scipy's, computed independently, gives the same map
    reference = correlate2d(np.pad(image.numpy(), p).astype(np.float64), k.numpy().astype(np.float64), mode="valid")
    assert np.allclose(direct.numpy(), reference, atol=1e-5)


def test_window_clamps_its_stop_and_refuses_a_kernel_larger_than_the_picture():
    image = cv.load_image("digits", 0)
    assert cv.window(image, cv.kernel_tensor("identity"), 10_000).pos == 35  # 6x6 stops
    big = cv.parse_kernel("; ".join(["1 1 1 1 1 1 1"] * 7))
    with pytest.raises(LabError) as e:
        cv.window(image[:5, :5], big, 0)
    assert e.value.key == "convolution.why_too_big"
    assert cv.window(image, big, 0, padding=True).fmap.shape == (8, 8)  # zero padding keeps the size


def test_the_output_size_formula_matches_f_conv2d_over_a_grid_of_settings():
    checked = 0
    for n, k, p, s, d in itertools.product(range(1, 13), range(1, 6), range(0, 4), range(1, 5), range(1, 4)):
        formula, shape = cv.output_size(n, k, p, s, d), cv.conv_shape(n, n, k, p, s, d)
        if formula >= 1:
            assert shape == (formula, formula), (n, k, p, s, d)
            checked += 1
        else:
            assert shape is None, (n, k, p, s, d)
    assert checked > 2000
    assert cv.output_size(32, 3) == 30 and cv.output_size(32, 3, p=1) == 32 and cv.output_size(7, 3, 1, 2) == 4


def test_grid_counts_the_windows_over_each_cell():
    g = cv.grid(7, 3, p=1, s=2, d=1)
    assert (g.formula, g.actual, g.coverage.shape) == (4, 4, (9, 9))
    assert g.coverage.sum() == 4 * 4 * 9  # 16 windows of 9 cells
    assert g.first.sum() == 9 and g.first[:3, :3].all()
    dilated = cv.grid(7, 3, d=2)
    assert dilated.span == 5 and dilated.actual == 3 and dilated.first.sum() == 9 and dilated.first[0, 2]
    assert not dilated.first[0, 1]  # a gap between the taps
    skipped = cv.grid(6, 3, s=2)  # stride 2 on 6 cells: the last column is never covered
    assert skipped.actual == 2 and (skipped.coverage[:, -1] == 0).all()
    none = cv.grid(3, 5, d=2)
    assert none.actual is None and none.formula <= 0 and not none.coverage.any()


def test_pooling_is_torchs_max_and_mean():
    fmap = torch.tensor([[1.0, 2.0, -5.0, 0.0], [3.0, 4.0, 1.0, 1.0]])
    x, mx, av = cv.pool(fmap, 2)
    assert torch.equal(x, fmap) and mx.tolist() == [[4.0, 1.0]] and av.tolist() == [[2.5, -0.75]]
    _, _, av_relu = cv.pool(fmap, 2, relu=True)
    assert av_relu.tolist() == [[2.5, 0.5]]
    with pytest.raises(LabError) as e:
        cv.pool(fmap, 3)
    assert e.value.key == "convolution.why_pool"


def test_the_books_parameter_table():
    book = cv.param_counts(32, 32, 3, 100, 32, 3)
    assert (book.inputs, book.dense, book.conv) == (3072, 307_200, 864)
    assert book.ratio == pytest.approx(307_200 / 864)
    with_bias = cv.param_counts(32, 32, 3, 100, 32, 3, bias=True)
    assert (with_bias.dense, with_bias.conv) == (307_300, 896)
    huge = cv.param_counts(4096, 4096, 1024, 100_000, 4096, 15)  # meta tensors: no memory at all
    assert huge.dense == 4096 * 4096 * 1024 * 100_000 and huge.conv == 15 * 15 * 1024 * 4096


@pytest.mark.parametrize(("text", "key"), [
    ("", "why_empty"), ("  ;  ; ", "why_empty"), ("nan 1; 1 1", "why_finite"), ("1 inf; 0 0", "why_finite"),
    ("1e400", "why_finite"), ("1 2; x 4", "why_number"), ("1 2; 3", "why_ragged"), ("1 2 3", "why_square"),
    ("; ".join(["1 " * 8] * 8), "why_size")])
def test_bad_kernels_are_refused_with_a_reason(text, key):
    with pytest.raises(LabError) as e:
        cv.parse_kernel(text)
    assert e.value.key == f"convolution.{key}"
    assert e.value.message()  # a sentence in the catalogue


def test_kernels_parse_in_several_spellings():
    assert cv.parse_kernel("1 0 -1; 2 0 -2; 1 0 -1").tolist() == [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    assert cv.parse_kernel("1,2\n3,4").tolist() == [[1, 2], [3, 4]]
    assert cv.parse_kernel("\u22121 0.5; 0 1e-1").flatten().tolist() == pytest.approx([-1, 0.5, 0, 0.1])
    assert cv.kernel_size("custom", "nan") == 3 and cv.kernel_size("custom", "1 1; 1 1") == 2
    for name in cv.KERNELS:
        assert cv.kernel_tensor(name).shape == (3, 3)
    assert cv.kernel_tensor("box_blur").sum() == pytest.approx(1.0)


def _png(size=(40, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (255, 255, 255)).save(buf, "PNG")
    return buf.getvalue()


def test_uploads_go_through_the_hardened_reader():
    image = cv.upload_image(_png())
    assert image.shape == (32, 32) and float(image.min()) == pytest.approx(1.0)
    broken = {"images.why_broken", "images.why_not_image"}  # a cut file: Pillow may not even recognise it
    for raw, keys in ((b"", {"images.why_empty"}), (b"\x89PNG\r\n\x1a\n cut", broken),
                      (b"plain text", {"images.why_not_image"}), (_png()[:60], broken)):
        with pytest.raises(LabError) as e:
            cv.upload_image(raw)
        assert e.value.key in keys, raw[:10]


def test_the_link_schema_clamps_to_what_the_widgets_offer():
    values, ignored = links.read("convolution", {"source": "shapes", "index": "999", "pos": "1e6", "kernel": "nope",
                                                 "grid.s": "-2", "calc.units": "abc", "pool": "3.4"})
    assert values["index"] == 49 and values["pos"] == 899 and values["kernel"] == cv.DEFAULT_KERNEL
    assert values["grid.s"] == 1 and values["calc.units"] == 100 and values["pool"] == 3
    assert set(ignored) == {"kernel", "grid.s", "calc.units"}
    # a typed kernel travels as text, its size sets the number of stops; an upload has no picture number
    values, ignored = links.read("convolution", {"kernel": "custom", "custom": "1 1; 1 1", "source": "upload",
                                                 "index": "3"})
    assert values["custom"] == "1 1; 1 1" and values["pos"] == (31 * 31) // 2 and ignored == ["index"]
    assert links.read("convolution", {"kernel": "custom", "custom": "nan"})[0]["custom"] == "nan"  # the page says why
    assert links.read("convolution", {"kernel": "custom", "custom": "x" * 500})[1] == ["custom"]


def test_figures_build_for_every_panel():
    image = cv.load_image("digits", 3)
    win = cv.window(image, cv.kernel_tensor("outline"), 7, padding=True)
    figs = [window_figure(win, lang="he"), arithmetic_figure(win), grid_figure(cv.grid(5, 3, 1, 2, 2)),
            pooling_figure(*cv.pool(win.fmap, 2, relu=True))]
    filled = np.array(figs[0].data[1].z, dtype=float)
    assert np.isfinite(filled).sum() == 8  # the feature map is written up to the window's stop
    assert np.allclose(filled.ravel()[:8], win.fmap.numpy().ravel()[:8])
    assert "sum" in figs[1].layout.annotations[2].text


def test_bench_conv_reports_the_redraw_against_one_conv2d():
    from labcore.bench import BENCHMARKS

    result = BENCHMARKS["conv"](repeats=2)
    assert result["redraw_s"] > result["conv2d_s"] > 0 and result["ratio"] > 1
    assert result["target_s"] == cv.TARGET_SECONDS and isinstance(result["within_target"], bool)


# -- receptive fields (lesson 8) --------------------------------------------------------------------------------------
@pytest.mark.parametrize("data_name,depth", [("shapes", 1), ("shapes", 3), ("digits", 2)])
def test_the_gradient_of_a_unit_lives_exactly_in_its_theoretical_field(data_name, depth):
    """For every layer and a corner, an edge and a middle unit, autograd's nonzero gradient fills the box the layer
    arithmetic gives (with random weights and a real picture every pixel in the box gets some gradient)."""
    from dataclasses import replace

    from labcore.basics import receptive as rf
    from labcore.config import DataConfig
    from labcore.data import load_dataset
    from labcore.models import build_model, default_config

    data = load_dataset(DataConfig(name=data_name))
    model = build_model(replace(default_config("cnn"), depth=depth), data, seed=0)
    hw = tuple(data.input_shape[-2:])
    stages = rf.stages(model, hw)
    assert [s.kind for s in stages] == ["conv", "max_pool"] * depth
    for stage in stages:
        h, w = stage.out
        for row, col in {(0, 0), (h // 2, w // 2), (h - 1, w // 2)}:
            top, bottom, left, right = rf.box(stage, row, col, hw)
            g = rf.gradient_field(model, data.x_test[1], stage, row, col)
            rows, cols = np.nonzero(g)
            assert (rows.min(), rows.max(), cols.min(), cols.max()) == (top, bottom, left, right), (stage.kind, row, col)


def test_the_field_arithmetic_of_the_default_cnn():
    from labcore.basics import receptive as rf
    from labcore.config import DataConfig
    from labcore.data import load_dataset
    from labcore.models import build_model, default_config

    data = load_dataset(DataConfig(name="shapes"))
    stages = rf.stages(build_model(default_config("cnn"), data, seed=0), (32, 32))
    # 3x3 conv: 3; 2x2 pool: 3 + 1 = 4, jump 2; 3x3 conv: 4 + 2·2 = 8; pool: 8 + 2 = 10, jump 4
    assert [(s.size[0], s.jump[0], s.out[0]) for s in stages] == [(3, 1, 32), (4, 2, 16), (8, 2, 16), (10, 4, 8)]
    assert rf.box(stages[-1], 0, 0, (32, 32)) == (0, 6, 0, 6)  # centre 1.5 ± 4.5 = -3..6: the padding is cut off


def test_a_trained_filter_summed_over_colours_is_what_it_does_to_a_grey_picture():
    from labcore.config import DataConfig
    from labcore.data import load_dataset
    from labcore.models import build_model, default_config

    model = build_model(default_config("cnn"), load_dataset(DataConfig(name="shapes")), seed=0)
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    filters = cv.first_filters(model)
    assert filters.shape == (32, 3, 3)
    grey = torch.rand(1, 1, 12, 12)
    as_rgb = F.conv2d(grey.expand(1, 3, 12, 12), conv.weight.detach())
    assert torch.allclose(as_rgb, F.conv2d(grey, filters[:, None]), atol=1e-5)
    assert cv.first_filters(torch.nn.Sequential(torch.nn.Conv2d(1, 4, 5))) is None  # only 3x3 first layers
    assert cv.first_filters(torch.nn.Linear(3, 3)) is None
