"""Real browser: the Attention page trains a Transformer on toy sentences and shows per-head maps, then a
tiny ViT with attention rollout over test images; no exception box ever shows."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import chart_shot, no_exception, shot, wait_for_app

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

    page.get_by_role("tab", name="Vision Transformer").click()
    page.get_by_role("button", name="Train the ViT").click()
    expect(page.get_by_text("Attention rollout on test images", exact=True)).to_be_visible(timeout=300_000)
    wait_for_app(page)
    no_exception(page)
    shot(page, "attention-vit")
    charts = page.locator("[data-testid='stPlotlyChart']")
    chart_shot(page, charts.count() - 1, "attention-rollout")
