"""Real browser: the Attention page trains a Transformer on toy sentences and shows per-head maps, then a
tiny ViT with attention rollout over test images; no exception box ever shows."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, shot, wait_for_app

pytestmark = pytest.mark.e2e


def _no_exception(page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


def _chart_shot(page, index: int, name: str) -> None:
    """A screenshot of one chart (scrolled into view): the full-page shot stops at the viewport."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("[data-testid='stPlotlyChart']").nth(index).screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_sentences_then_vit(page, server):
    url, _ = server
    page.goto(f"{url}/attention")
    wait_for_app(page)
    _no_exception(page)
    page.get_by_role("button", name="Train the Transformer").click()
    expect(page.get_by_text("Attention maps", exact=True)).to_be_visible(timeout=300_000)
    expect(page.get_by_text("the model says", exact=False)).to_be_visible()
    wait_for_app(page)
    _no_exception(page)
    shot(page, "attention-sentences")
    _chart_shot(page, 1, "attention-heads")
    _chart_shot(page, 2, "attention-query")

    page.get_by_role("tab", name="Vision Transformer").click()
    page.get_by_role("button", name="Train the ViT").click()
    expect(page.get_by_text("Attention rollout on test images", exact=True)).to_be_visible(timeout=300_000)
    wait_for_app(page)
    _no_exception(page)
    shot(page, "attention-vit")
    charts = page.locator("[data-testid='stPlotlyChart']")
    _chart_shot(page, charts.count() - 1, "attention-rollout")
