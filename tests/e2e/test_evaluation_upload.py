"""Real browser (issue 13): the Evaluation page's "Your own CSV" tab through Streamlit's real uploader. A picture
renamed .csv gets its sentence and nothing else on the page is lost; a good CSV is read, its task detected and the
models compared."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from labcore.evaluation import tables as T
from tests.e2e.conftest import no_exception, wait_for_app

pytestmark = pytest.mark.e2e


def test_a_hostile_then_a_good_csv(page, server, tmp_path):
    url, _ = server
    page.goto(f"{url}/evaluation?panel=upload")
    wait_for_app(page)
    expect(page.get_by_text("Upload a CSV to start", exact=False)).to_be_visible()
    hostile = tmp_path / "photo.csv"
    hostile.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    upload = page.locator("[data-testid='stFileUploaderDropzoneInput']").first
    upload.set_input_files(str(hostile))
    expect(page.get_by_text("This is not a text file", exact=False)).to_be_visible(timeout=30_000)
    expect(page.get_by_role("tab", name="Threshold")).to_be_visible()  # the page is all there
    no_exception(page)
    good = tmp_path / "churn.csv"
    good.write_bytes(T.churn(n=400).raw.to_csv(index=False).encode())
    upload.set_input_files(str(good))
    expect(page.get_by_text("has 2 classes", exact=False)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("This is not a text file", exact=False)).to_have_count(0)
    expect(page.get_by_text("The preprocessing: one ColumnTransformer", exact=False)).to_be_visible(timeout=60_000)
    no_exception(page)
