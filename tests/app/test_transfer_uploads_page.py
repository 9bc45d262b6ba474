"""AppTest for the upload parts of the Transfer page (issue 20): every uploader states the limit, a refusal is
shown in the page, a stale message goes when a new file is chosen (or the file is removed), unreadable files
are listed with the reason, and a bad weights file is read once, not on every rerun."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from labcore.data.images import UPLOAD_MB
from tests.app.conftest import job_of, open_page, png_bytes, poll, zip_bytes

pytestmark = pytest.mark.usefixtures("fresh_registry")
LIMIT = f"Up to {UPLOAD_MB} MB per file"


def _upload_page():
    at = open_page("views/transfer.py", timeout=60)
    at.selectbox(key="tl.target").set_value("upload").run()
    assert not at.exception, at.exception
    return at


def test_a_refused_zip_shows_its_message_until_another_file_is_chosen():
    at = _upload_page()
    assert any(LIMIT in c.value for c in at.caption)  # the files-per-class tab states limit and formats
    assert any("refused by your browser" in c.value for c in at.caption)
    hostile = zip_bytes({"../../evil/x.png": png_bytes((0, 0, 0)), "a/1.png": png_bytes((1, 1, 1))})
    at.file_uploader(key="tl.zip").set_value(("evil.zip", hostile, "application/zip")).run()
    assert any("outside its own folder" in e.value for e in at.error)
    at.file_uploader(key="tl.zip").clear().run()  # removed (or refused by the browser): the message goes
    assert not at.exception, at.exception
    assert not any("outside its own folder" in e.value for e in at.error)
    at.file_uploader(key="tl.zip").set_value(("evil.zip", hostile, "application/zip")).run()
    assert any("outside its own folder" in e.value for e in at.error)  # the same file again: read again
    good = {f"mine/red/{i}.png": png_bytes((220, 30, 30)) for i in range(3)}
    good |= {f"mine/blue/{i}.png": png_bytes((30, 30, 220)) for i in range(3)}
    at.file_uploader(key="tl.zip").set_value(("mine.zip", zip_bytes(good), "application/zip")).run()
    assert not at.error and any("6 images in 2 classes" in s.value for s in at.success)


def test_files_per_class_list_the_unreadable_files_and_why():
    at = _upload_page()
    at.file_uploader(key="tl.cls_files.0").set_value(
        [(f"r{i}.png", png_bytes((220, 30, 30)), "image/png") for i in range(3)]).run()
    at.file_uploader(key="tl.cls_files.1").set_value(
        [("b0.jfif", png_bytes((30, 30, 220)), "image/jpeg"), ("b1.png", b"\x89PNG cut", "image/png"),
         ("b2.jpg", b"", "image/jpeg")]).run()
    at.button(key="tl.use_files").click().run()
    assert not at.exception, at.exception
    (error,) = at.error
    assert "fewer than 3 readable images" in error.value and "b1.png" in error.value
    assert any("b2.jpg: the file is empty" in c.value for c in at.code)
    at.file_uploader(key="tl.cls_files.1").set_value(  # a new choice: the old message goes at once
        [(f"b{i}.jpe", png_bytes((30, 30, 220)), "image/jpeg") for i in range(3)]).run()
    assert not at.error
    at.button(key="tl.use_files").click().run()
    assert not at.error and any("6 images in 2 classes" in s.value for s in at.success)


def test_a_bad_weights_file_is_read_once_and_its_message_goes_with_it(tmp_path, monkeypatch):
    import labcore.transfer.weights as weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    calls = []
    real = weights.read_state_dict
    monkeypatch.setattr(weights, "read_state_dict", lambda raw: calls.append(1) or real(raw))
    at = open_page("views/transfer.py", timeout=60)
    at.selectbox(key="tl.backbone").set_value("resnet18").run()
    assert any(LIMIT in c.value for c in at.sidebar.caption)
    at.file_uploader(key="tl.weights.resnet18").upload("w.pth", b"").run()
    at.run()
    assert any("empty" in e.value for e in at.sidebar.error) and len(calls) == 1
    at.file_uploader(key="tl.weights.resnet18").clear().run()
    assert not at.sidebar.error


def test_try_it_crops_like_training_and_says_why_a_picture_is_refused():
    at = open_page("views/transfer.py", timeout=90)
    at.slider(key="tl.epochs").set_value(2).run()
    at.button(key="tl.btn_start").click().run()
    poll(at, lambda a: job_of(a, "tl_job_id").done)
    at.switch_page("views/try_it.py").run()
    assert not at.exception, at.exception
    assert any(LIMIT in c.value and "JPEG (.jpg" in c.value for c in at.caption)
    wide = io.BytesIO()
    Image.new("RGB", (90, 30), (250, 250, 250)).save(wide, "JPEG")
    at.file_uploader(key="try.upload").set_value(("wide.jfif", wide.getvalue(), "image/jpeg")).run()
    assert not at.exception, at.exception
    assert not at.warning and at.metric  # a prediction
    at.file_uploader(key="try.upload").set_value(("broken.jpe", b"\xff\xd8 not really", "image/jpeg")).run()
    assert not at.exception, at.exception
    (warning,) = at.warning
    assert "refused" in warning.value and "JPEG (.jpg" in warning.value and f"{UPLOAD_MB} MB" in warning.value
