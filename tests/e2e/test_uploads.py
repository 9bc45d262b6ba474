"""Real browser (issue 20 item 5, issue 19 item 4): the browser's own file checks. A JPEG named .jfif or .jpe
is accepted where JPEGs are; a file over the upload limit is refused by the browser before the lab sees it,
and the page says what the limit is and leaves no stale message from the previous file."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image
from playwright.sync_api import expect

from labcore.data.images import UPLOAD_MB
from tests.e2e.conftest import choose, no_exception, wait_for_app

pytestmark = pytest.mark.e2e


def _jpeg(path, color) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return str(path)


def test_jpeg_names_are_accepted_and_an_oversized_file_is_explained(page, server, tmp_path):
    url, _ = server
    page.goto(f"{url}/transfer")
    wait_for_app(page)
    choose(page, "Images to learn", "Your own images")
    wait_for_app(page)
    limit = page.get_by_text(f"Up to {UPLOAD_MB} MB per file. A bigger file is refused by your browser", exact=False)
    expect(limit.first).to_be_visible()

    hostile = tmp_path / "evil.zip"
    hostile.write_bytes(b"PK\x03\x04 not really a zip")
    zip_input = page.locator("[data-testid='stFileUploaderDropzoneInput']").first
    zip_input.set_input_files(str(hostile))
    expect(page.get_by_text("evil.zip: That file is not a readable zip archive", exact=False)).to_be_visible(
        timeout=30_000)
    big = tmp_path / "too_big.zip"
    with big.open("wb") as f:
        f.truncate((UPLOAD_MB + 1) * 2**20)  # sparse: over the limit without writing 51 MB
    zip_input.set_input_files(str(big))  # refused by the browser: the page never sees it...
    wait_for_app(page)
    expect(limit.first).to_be_visible()  # ...so it states the limit, and its message names the file it is about
    expect(page.get_by_text("evil.zip: ", exact=False)).to_be_visible()
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        for i in range(4):
            for cls, color in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
                buf = io.BytesIO()
                Image.new("RGB", (24, 24), color).save(buf, "PNG")
                zf.writestr(f"{cls}/{i}.png", buf.getvalue())
    zip_input.set_input_files(str(good))  # a new file: the old message goes
    expect(page.get_by_text("8 images in 2 classes", exact=False)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("evil.zip: ", exact=False)).to_have_count(0)

    page.get_by_role("tab", name="Files per class").click()
    inputs = page.locator("[data-testid='stFileUploaderDropzoneInput']")
    for k, (prefix, color) in enumerate((("a", (200, 30, 30)), ("b", (30, 30, 200)))):
        names = [f"{prefix}{i}{suffix}" for i, suffix in enumerate((".jfif", ".jpe", ".JPG"))]
        inputs.nth(1 + k).set_input_files([_jpeg(tmp_path / name, color) for name in names])
        wait_for_app(page)
    page.get_by_role("button", name="Use these images").click()  # only files the browser let through count
    expect(page.get_by_text("6 images in 2 classes", exact=False)).to_be_visible(timeout=30_000)
    no_exception(page)
