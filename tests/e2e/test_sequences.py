"""Real browser: the Sequences page forecasts against naive baselines and compares RNN with LSTM live,
then shows the gradient per time step and the LSTM's gates; no exception box ever shows."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import chart_shot, no_exception, shot, wait_for_app

pytestmark = pytest.mark.e2e


def test_forecast_then_memory(page, server):
    url, _ = server
    page.goto(f"{url}/sequences")
    wait_for_app(page)
    no_exception(page)
    expect(page.get_by_text("Source: generated here", exact=False).first).to_be_visible()
    page.get_by_role("button", name="Train forecasters").click()
    expect(page.get_by_text(re.compile(r"Training · "))).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Seasonal naive", exact=False).first).to_be_visible(timeout=300_000)
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"^Finished · "))).to_be_visible(timeout=300_000)
    no_exception(page)
    shot(page, "sequences-forecast")
    chart_shot(page, 0, "sequences-forecast-plot")

    page.get_by_role("tab", name="Long-range memory").click()
    page.get_by_role("button", name="Train and compare").click()
    expect(page.get_by_text("Inside the LSTM", exact=False)).to_be_visible(timeout=300_000)
    wait_for_app(page)
    no_exception(page)
    shot(page, "sequences-memory")
    charts = page.locator("[data-testid='stPlotlyChart']")
    chart_shot(page, charts.count() - 1, "sequences-gates")
