"""Real browser (lesson 22): the Beyond classification page. A three-epoch segmentation run from its link trains to
the end and shows its mean IoU; the "Which architecture?" tab answers a student's question with a suggestion whose
link opens the lab page that shows it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import choose, no_exception, shot, wait_for_app

pytestmark = pytest.mark.e2e


def test_a_short_segmentation_run_shows_its_mean_iou(page, server):
    url, _ = server
    page.goto(f"{url}/beyond?seg.epochs=3&seg.train=256")
    wait_for_app(page)
    no_exception(page)
    tab = page.get_by_role("tabpanel", name="Segmentation")
    expect(tab.get_by_text("Press Train", exact=False)).to_be_visible()
    tab.get_by_role("button", name="Train", exact=True).click()
    result = tab.get_by_text(re.compile(r"On \d+ test images after 3 epochs \(\d+\.\d s\): mean IoU 0\.\d{3}, mean Dice"))
    expect(result).to_be_visible(timeout=90_000)
    wait_for_app(page)
    metric = tab.get_by_test_id("stMetric").filter(has_text="Mean IoU (test)")
    expect(metric).to_be_visible()
    iou = float(metric.get_by_test_id("stMetricValue").inner_text())
    assert 0.3 < iou < 1.0, iou  # 3 epochs on 256 images: about 0.75 (1 epoch on 128 learns nothing, ~0.00)
    assert f"mean IoU {iou:.3f}" in result.inner_text()  # the caption and the metric tell the same number
    no_exception(page)
    metric.scroll_into_view_if_needed()
    shot(page, "beyond-segment")


def test_which_architecture_suggests_a_demo_and_its_link_opens_it(page, server):
    url, _ = server
    page.goto(f"{url}/beyond?panel=which")
    wait_for_app(page)
    expect(page.get_by_text("A convolutional network (CNN).", exact=True)).to_be_visible()  # images, labelled
    choose(page, "What is the data?", "Text (tokens)")
    wait_for_app(page)
    expect(page.get_by_text("A Transformer (pretrained, such as BERT or RoBERTa, then fine-tuned).")).to_be_visible()
    expect(page.get_by_text("A convolutional network (CNN).", exact=True)).to_have_count(0)
    no_exception(page)
    shot(page, "beyond-which")
    link = page.get_by_role("link", name=re.compile("Open the demonstration:"))
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(re.compile(r"/attention"), timeout=30_000)
    wait_for_app(page)
    expect(page.get_by_role("heading", name="Attention: who looks at whom")).to_be_visible()
    expect(page.get_by_role("button", name="Train the Transformer")).to_be_visible()
    no_exception(page)
