"""Real browser: the Explain page trains its default model, draws Grad-CAM and the other maps, switches tabs,
and never shows an exception box."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, wait_for_app

pytestmark = pytest.mark.e2e


def test_explain_page_draws_grad_cam(page, server):
    url, _ = server
    page.goto(f"{url}/explain")
    wait_for_app(page, timeout=180_000)  # the first visit trains the quick default model
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # The method names are titles inside the overlay chart, drawn by plotly as SVG text.
    chart = page.get_by_test_id("stPlotlyChart").filter(has_text="Guided Grad-CAM").first
    expect(chart.get_by_text("Grad-CAM", exact=False).first).to_be_visible(timeout=30_000)
    expect(chart.get_by_text("Occlusion", exact=False)).to_be_visible()
    shot(page, "explain-attributions")
    for tab in ("Localisation", "Adversarial", "Feature maps"):
        page.get_by_role("tab", name=tab).click()
        wait_for_app(page)
        expect(page.get_by_test_id("stException")).to_have_count(0)
    page.get_by_role("tab", name="Localisation").click()
    # Localisation over the test set runs in the background: a progress bar, then the scores.
    expect(page.get_by_text("Pointing game hits")).to_be_visible(timeout=60_000)
    shot(page, "explain-localisation")
