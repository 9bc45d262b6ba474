"""Real browser: the Attention page trains a Transformer on toy sentences and shows per-head maps, then a
tiny ViT with attention rollout over test images; no exception box ever shows."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, chart_shot, no_exception, shot, wait_for_app

pytestmark = pytest.mark.e2e


def test_sentences_then_vit(page, server):
    url, _ = server
    page.goto(f"{url}/attention")
    wait_for_app(page)
    no_exception(page)
    page.get_by_role("button", name="Train the Transformer").click()
    expect(page.get_by_text("Attention maps", exact=True)).to_be_visible(timeout=300_000)
    expect(page.get_by_text("the model says", exact=False)).to_be_visible()
    wait_for_app(page)
    no_exception(page)
    shot(page, "attention-sentences")
    chart_shot(page, 1, "attention-heads")
    chart_shot(page, 2, "attention-query")
    # one head, step by step: a typed sentence is read, and the Q/K/V view redraws for it
    expect(page.get_by_text("One head, step by step", exact=True)).to_be_visible()
    typed = page.get_by_role("textbox", name="Or type a sentence with the task's words")
    typed.fill("the idea near the students [?] popular")
    typed.press("Enter")
    charts = page.locator("[data-testid='stPlotlyChart']")
    expect(charts.nth(4)).to_contain_text("students", timeout=30_000)  # Q, K, V rows are the typed words
    wait_for_app(page)
    no_exception(page)
    expect(page.get_by_text("has never seen", exact=False)).to_have_count(0)
    page.wait_for_timeout(1000)  # the charts of the rerun settle before their pictures are taken
    chart_shot(page, 3, "attention-steps-embed")
    chart_shot(page, 4, "attention-steps-head")

    page.get_by_role("tab", name="Vision Transformer").click()
    page.get_by_role("button", name="Train the ViT").click()
    expect(page.get_by_text("Attention rollout on test images", exact=True)).to_be_visible(timeout=300_000)
    wait_for_app(page)
    no_exception(page)
    shot(page, "attention-vit")
    # the last chart on screen: the Positions tab's charts come after it in the page, hidden
    page.locator("[data-testid='stPlotlyChart']:visible").last.screenshot(path=str(ARTIFACTS / "attention-rollout.png"))
