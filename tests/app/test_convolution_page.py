"""AppTest for the Convolution page: every tab draws, its feature map is F.conv2d's, a bad kernel, a corrupt upload or
a hand-edited link gives a clear message and the page stays alive."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import torch.nn.functional as F
from PIL import Image

from labcore.basics import convolution as cv
from tests.app.conftest import open_page

PAGE = "views/convolution.py"
CHARTS = {"conv.window_fig", "conv.arith_fig", "conv.grid_fig", "conv.pool_fig", "conv.rf_fig", "conv.mvc_curves"}


def _charts(at) -> dict[str, dict]:
    return {c.key: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def _array(value) -> np.ndarray:
    """A heatmap's z as plotly sends it: a list, or a typed array ({"dtype", "bdata", "shape"})."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).astype(float)
        return flat.reshape([int(n) for n in str(value.get("shape", len(flat))).split(",")])
    return np.array(value, dtype=float)  # None (not yet written) -> nan


def _alive(at) -> None:
    assert not at.exception, at.exception
    assert {"conv.grid_fig"} <= set(_charts(at))  # the tabs that do not need the picture still draw
    assert len(at.metric) == 3  # the parameter calculator


def test_every_panel_draws_and_the_feature_map_is_f_conv2d():
    at = open_page(PAGE)
    assert set(_charts(at)) == CHARTS
    assert [m.value for m in at.metric] == ["307,200", "864", "355.6×"]
    at.selectbox(key="conv.source").set_value("shapes").run()
    at.selectbox(key="conv.kernel").set_value("sobel_x").run()
    at.slider(key="conv.index").set_value(4).run()
    at.slider(key="conv.pos").set_value(300).run()
    assert not at.exception, at.exception
    image = cv.load_image("shapes", 4)
    want = F.conv2d(image[None, None], cv.kernel_tensor("sobel_x")[None, None])[0, 0].numpy()
    z = _array(_charts(at)["conv.window_fig"]["data"][1]["z"])
    assert np.isfinite(z).sum() == 301
    assert np.allclose(z.ravel()[:301], want.ravel()[:301], atol=1e-6)
    row, col = divmod(300, want.shape[1])
    assert any(f"row {row}, column {col}" in m.value and f"{want[row, col]:.4g}" in m.value for m in at.markdown)
    at.toggle(key="conv.padding").set_value(True).run()  # zero padding: the map keeps the picture's 32x32
    assert _array(_charts(at)["conv.window_fig"]["data"][1]["z"]).shape == (32, 32)
    at.number_input(key="conv.calc_h").set_value(64).run()
    at.number_input(key="conv.calc_w").set_value(64).run()  # twice the side: the dense layer grows 4x
    assert [m.value for m in at.metric][:2] == ["1,228,800", "864"]
    assert at.query_params["calc.h"] == "64" and at.query_params["kernel"] == "sobel_x"


def test_a_bad_typed_kernel_is_named_and_the_page_stays_alive():
    at = open_page(PAGE)
    at.selectbox(key="conv.kernel").set_value("custom").run()
    assert not at.error and "conv.window_fig" in _charts(at)
    for text, words in (("nan 1; 1 1", "not a finite number"), ("", "0×0"), ("1 2; 3", "different lengths"),
                        ("1 2 3", "square")):
        at.text_input(key="conv.custom").input(text).run()
        _alive(at)
        assert any("This kernel cannot be used" in e.value and words in e.value for e in at.error), text
        assert "conv.window_fig" not in _charts(at)
        assert any("Pick a picture and a kernel" in i.value for i in at.info)  # the pooling tab says why it waits
    at.text_input(key="conv.custom").input("0 0 0 0 0; 0 0 0 0 0; 0 0 1 0 0; 0 0 0 0 0; 0 0 0 0 0").run()
    assert not at.error and "conv.window_fig" in _charts(at)
    at.text_input(key="conv.custom").input("1 0; 0 −1 ½").run()  # not ASCII: named, the default kernel comes back
    _alive(at)
    assert any("use only digits" in e.value for e in at.error)
    assert at.text_input(key="conv.custom").value == cv.DEFAULT_CUSTOM


def test_a_corrupt_upload_is_refused_with_its_reason():
    at = open_page(PAGE)
    at.selectbox(key="conv.source").set_value("upload").run()
    _alive(at)
    assert any("Upload a PNG or JPEG" in i.value for i in at.info)
    at.file_uploader(key="conv.upload").set_value(("cut.png", b"\x89PNG\r\n\x1a\n cut", "image/png")).run()
    _alive(at)
    assert any("This picture cannot be used" in w.value for w in at.warning)
    buf = io.BytesIO()
    Image.new("L", (50, 40), 200).save(buf, "PNG")
    at.file_uploader(key="conv.upload").set_value(("ok.png", buf.getvalue(), "image/png")).run()
    assert not at.exception and set(_charts(at)) == CHARTS


def test_a_hand_edited_link_falls_back_and_says_so():
    at = open_page(PAGE, kernel="custom", custom="nan nan; 1 1", pos="1e9", index="abc", source="shapes",
                   **{"grid.s": "-4", "grid.k": "99", "pool": "7", "calc.c": "0"})
    _alive(at)
    ignored = at.session_state["link_ignored"]
    assert {"index", "grid.s"} <= set(ignored)
    assert any("not a finite number" in e.value for e in at.error)
    assert at.slider(key="conv.grid_k").value == 5 and at.select_slider(key="conv.pool").value == 4
    assert at.number_input(key="conv.calc_c").value == 1


def _train_both(at, epochs: int):
    """Press "Train both" on the MLP vs CNN tab (digits) and rerun once the job has ended; returns the job."""
    import time

    from app.state import registry

    at.selectbox(key="conv.mvc_data").set_value("digits")
    at.slider(key="conv.mvc_epochs").set_value(epochs).run()
    at.button(key="conv.mvc_job.train").click().run()
    deadline = time.time() + 120
    while not (job := registry().get(at.session_state["conv.mvc_job"])).done and time.time() < deadline:
        time.sleep(0.2)
    at.run()
    return job


@pytest.mark.usefixtures("fresh_registry")
def test_mlp_and_cnn_train_on_the_same_pictures_with_their_weight_counts():
    at = open_page(PAGE)
    job = _train_both(at, epochs=2)
    _alive(at)
    assert job.status == "finished" and [c.name for c in job.contenders] == ["mlp", "cnn"]
    table = at.dataframe[0].value
    assert list(table.iloc[:, 1]) == ["8,970", "19,562"]  # nn.Module parameter counts of the default MLP and CNN
    assert all(c.test_acc > 0.5 for c in job.contenders)
    spec = _charts(at)["conv.mvc_curves"]
    assert [tr["name"] for tr in spec["data"]] == ["MLP · 8,970 weights", "CNN · 19,562 weights"]


def test_the_receptive_field_tab_frames_what_a_unit_sees_and_uses_the_trained_cnn_when_there_is_one():
    at = open_page(PAGE, **{"rf.data": "digits", "rf.depth": "3", "rf.layer": "6"})
    _alive(at)
    assert any("1×1 units sees a 22×22 patch" in m.value for m in at.markdown)  # wider than the 8x8 digit itself
    at.slider(key="conv.rf_depth").set_value(1).run()
    _alive(at)
    assert at.selectbox(key="conv.rf_layer").value == 2  # refit to the deepest layer that exists now
    assert any("untrained" in c.value or "fresh random weights" in c.value for c in at.caption)


@pytest.mark.usefixtures("fresh_registry")
def test_a_filter_of_the_cnn_trained_in_the_tab_slides_over_the_picture():

    import torch

    at = open_page(PAGE, kernel="trained")
    _alive(at)
    assert any("No CNN trained in this tab yet" in i.value for i in at.info)
    job = _train_both(at, epochs=1)
    at.slider(key="conv.filter").set_value(5).run()
    _alive(at)
    cnn = job.contenders[1].trainer.model
    kernel = next(m for m in cnn.modules() if isinstance(m, torch.nn.Conv2d)).weight.detach()[5].sum(0)
    image = cv.load_image("digits", 0)
    want = F.conv2d(image[None, None], kernel[None, None])[0, 0].numpy()
    z = _array(_charts(at)["conv.window_fig"]["data"][1]["z"])
    assert np.allclose(np.nan_to_num(z).ravel()[: want.size // 2], want.ravel()[: want.size // 2], atol=1e-5)
    assert any("A first-layer filter of CNN on Digits" in c.value for c in at.caption)


def test_mlp_vs_cnn_on_cifar10_offers_the_download_instead_of_failing(data_home):
    at = open_page(PAGE, **{"mvc.data": "cifar10"})
    _alive(at)
    assert any("cifar10" in w.value.lower() or "CIFAR" in w.value for w in at.warning)
    assert any(b.key == "btn_download_cifar10" for b in at.button)
    assert "conv.mvc_job.train" not in [b.key for b in at.button]  # nothing of the comparison is drawn
