"""AppTest for the Transfer and Try it pages: the offline default races to a results table, a zip of your own
images is read (and a hostile one refused) without a traceback, and the trained model shows up in Try it."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import job_of, open_page, png_bytes, poll, zip_bytes

pytestmark = pytest.mark.usefixtures("fresh_registry")


def _page(path: str = "views/transfer.py") -> AppTest:
    return open_page(path, timeout=90)


def _job(at: AppTest):
    return job_of(at, "tl_job_id")


def test_the_offline_default_races_to_a_results_table_and_feeds_try_it():
    at = _page()
    assert at.title[0].value == "Transfer learning"
    assert at.selectbox(key="tl.backbone").value == "lab_digits"
    assert at.selectbox(key="tl.target").value == "digits_5_9"
    at.slider(key="tl.epochs").set_value(4).run()
    assert any(c.value.startswith("This run should take about") for c in at.caption)  # said before Start
    at.button(key="tl.btn_start").click().run()
    assert not at.exception, at.exception
    poll(at, lambda a: _job(a).done)
    at.run()
    assert _job(at).status == "finished", _job(at).error
    table = at.dataframe[0]  # the results; the model's files table (export panel) may follow
    assert len(table.value) == 3 and set(table.value["Strategy"].str.rstrip(" ★")) == {
        "Feature extraction", "Fine-tuning", "From scratch"}
    assert any("Best on validation" in m.value for m in at.markdown)
    shown = " ".join(c.value for c in at.caption)
    assert "Trained on 25 images, chose the best epoch on 134, tested on 135." in shown
    assert "95 % interval (test)" in table.value.columns and table.value["95 % interval (test)"].str.endswith("%").all()
    assert not any("previous setup" in i.value for i in at.info)  # the results belong to what is on screen
    at.button(key="tl.embed_go").click().run()
    assert not at.exception, at.exception
    assert at.session_state["tl.embed"][1] == "pca"
    charts = lambda: [c for c in at.get("plotly_chart") if '"customdata"' in c.proto.spec]  # noqa: E731
    assert len(charts()) == 1
    at.session_state["tl.method"] = "tsne"  # issue 19 item 10: another projection redraws, no second click
    at.run()
    assert not at.exception and at.session_state["tl.embed"][1] == "tsne" and len(charts()) == 1
    assert any("Click a dot" in c.value for c in at.caption)

    at.slider(key="tl.epochs").set_value(5).run()  # another setup: the results stay, labelled as the old one's
    assert any("previous setup" in i.value for i in at.info)
    _try_every_strategy(at, _job(at))


def _try_every_strategy(at: AppTest, job) -> None:
    """Issue 19: every strategy is offered in words a person reads (the winner first and marked), the
    prediction's confidence has no arrow, and every class has its label on the probability bars."""
    import io
    import json

    from PIL import Image
    from streamlit.proto.Metric_pb2 import Metric

    at.switch_page("views/try_it.py").run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="try.model")
    labels = picker.options
    assert len(labels) == 3 and "★ chosen on validation" in labels[0] and picker.value == f"{job.id}:{job.best.strategy}"
    assert {label.split(" · ")[1] for label in labels} == {"Feature extraction", "Fine-tuning", "From scratch"}
    assert all("Digits 5–9" in label and "_" not in label for label in labels), labels  # no "digits_5_9", "lab_digits"
    seven = io.BytesIO()
    Image.new("RGB", (40, 40), (10, 10, 10)).save(seven, "JPEG")
    for strategy in ("scratch", "features"):
        at.selectbox(key="try.model").set_value(f"{job.id}:{strategy}").run()
        assert not at.exception, at.exception
        at.file_uploader(key="try.upload").set_value(("photo", seven.getvalue(), "image/jpeg")).run()
        assert not at.exception and not at.warning, at.exception
        (metric,) = at.metric
        assert metric.proto.direction == Metric.MetricDirection.NONE and "sure" in metric.proto.delta  # no ↑
        bars = json.loads(next(c for c in at.get("plotly_chart") if c.key == "try.probs").proto.spec)
        names = job.trainer.data.class_names
        assert bars["layout"]["yaxis"]["type"] == "category" and sorted(bars["layout"]["yaxis"]["tickvals"]) == sorted(names)
    for key in ("try.upload", "try.drawing"):  # both uploaders take a JPEG by its type, whatever its name
        if key == "try.drawing":
            at.segmented_control(key="try.source").set_value("drawing").run()
        types = list(at.file_uploader(key=key).proto.type)
        assert {"image/jpeg", "image/png", ".jfif", ".jpe", ".png"} <= set(types), types


def test_a_zip_of_your_images_is_read_and_a_hostile_one_refused():
    at = _page()
    at.selectbox(key="tl.target").set_value("upload").run()
    assert any(s.value == "Your own images" for s in at.subheader)
    files = {f"mine/red/{i}.png": png_bytes((220, 30, 30)) for i in range(5)}
    files |= {f"mine/blue/{i}.png": png_bytes((30, 30, 220)) for i in range(5)} | {"mine/notes.txt": b"hi"}
    at.file_uploader(key="tl.zip").upload("mine.zip", zip_bytes(files), "application/zip").run()
    assert not at.exception, at.exception
    assert any("10 images in 2 classes" in s.value for s in at.success)
    assert at.session_state["tl.upload_bundle"].class_names == ["blue", "red"]
    at.slider(key="tl.epochs").set_value(2).run()
    at.button(key="tl.btn_start").click().run()
    poll(at, lambda a: _job(a).done)
    at.run()
    assert _job(at).status == "finished", _job(at).error
    assert _job(at).trainer.data.class_names == ["blue", "red"]

    hostile = zip_bytes({"../../evil/x.png": png_bytes((0, 0, 0)), "a/1.png": png_bytes((1, 1, 1))})
    at.file_uploader(key="tl.zip").set_value(("evil.zip", hostile, "application/zip")).run()
    assert not at.exception, at.exception
    assert any("refused" in e.value and "outside its own folder" in e.value for e in at.error)
    assert "tl.upload_bundle" not in at.session_state


def test_an_unusable_weights_file_gets_a_message_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    at = _page()
    at.selectbox(key="tl.backbone").set_value("resnet18").run()
    assert any("not on this computer yet" in w.value for w in at.warning)
    at.file_uploader(key="tl.weights.resnet18").upload("w.pth", b"not a checkpoint").run()
    assert not at.exception, at.exception
    assert any("not a PyTorch weights file" in e.value for e in at.sidebar.error)


def test_a_teacher_puts_big_weights_on_the_server_and_a_student_chooses_them(tmp_path, monkeypatch):
    """Issue 19 item 7: where the file comes from (URL, one command), and files from LAB_WEIGHTS_DIR."""
    import torch
    import torchvision.models as tvm

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    shared = tmp_path / "weights"
    shared.mkdir()
    monkeypatch.setenv("LAB_WEIGHTS_DIR", str(shared))
    torch.save(tvm.resnet18(weights=None).state_dict(), shared / "resnet18-from-usb.pth")
    (shared / "broken.pth").write_bytes(b"not a checkpoint")
    at = _page()
    at.selectbox(key="tl.backbone").set_value("resnet18").run()
    where = " ".join(m.value for m in at.sidebar.markdown)
    assert "https://download.pytorch.org/models/resnet18-f37072fd.pth" in where
    assert "torchvision.models.resnet18(weights='DEFAULT')" in where and "LAB_WEIGHTS_DIR" in where
    picker = at.selectbox(key="tl.server_weights.resnet18")
    assert set(picker.options) == {"broken.pth", "resnet18-from-usb.pth"} and picker.value is None
    picker.set_value("broken.pth").run()
    assert not at.exception and any("not a PyTorch weights file" in e.value for e in at.sidebar.error)
    at.selectbox(key="tl.server_weights.resnet18").set_value("resnet18-from-usb.pth").run()
    assert not at.exception and any("weights file you chose" in s.value for s in at.sidebar.success)
    assert not at.sidebar.error


def test_try_it_without_models_points_to_the_training_pages():
    at = _page("views/try_it.py")
    assert at.title[0].value == "Try it"
    assert any("No trained image model" in i.value for i in at.info)
