"""Real browser: the race page opens from a link, a race streams overlaid curves, a diverging contender
is flagged while the others go on, Stop leads to the leaderboard, and no exception box ever shows."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, no_exception, plot_points, shot, wait_for_app

pytestmark = pytest.mark.e2e

# A CNN on digits at batch 8 (~17 s on 2 quiet cores: an MLP finished before the Pause click once Streamlit
# stopped collecting garbage after every poll), still running when we look twice; contender 3 is bound to blow up.
LINK = urlencode({"data": "digits", "model": "cnn", "train.epochs": "1000", "train.batch_size": "8", "c1": "adam",
                  "c2": "momentum", "c3": "sgd", "c3.lr": "100.0"})


def _curve_points(page) -> int:
    return plot_points(page)


def _wait_for_points(page, more_than: int, timeout: float = 30.0) -> int:
    assert eventually(lambda: _curve_points(page) > more_than, timeout), f"the chart stayed at {more_than} points"
    return _curve_points(page)


def test_race_streams_overlaid_curves_then_stops_to_a_leaderboard(page, server):
    url, _ = server
    page.goto(f"{url}/race?{LINK}")
    wait_for_app(page)
    no_exception(page)
    expect(page.get_by_text("same initial weights", exact=False)).to_be_visible()
    shot(page, "race-setup")
    before = _curve_points(page)
    page.get_by_role("button", name="Start race").click()
    expect(page.get_by_text(re.compile(r"Training · epoch"))).to_be_visible(timeout=15_000)
    first = _wait_for_points(page, before)
    second = _wait_for_points(page, first)  # the overlaid curves keep growing
    assert second > first
    expect(page.get_by_text(re.compile(r"diverged at step \d+"))).to_be_visible(timeout=30_000)
    third = _wait_for_points(page, second)  # ...and go on after one contender left the race
    assert third > second
    no_exception(page)
    shot(page, "race-running")
    # Pause first, then Stop while paused: on a quiet machine the race could otherwise end before the click.
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text(re.compile(r"Paused · epoch"))).to_be_visible(timeout=10_000)
    wait_for_app(page)  # the rerun after Pause has finished: Stop is the button it drew
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text(re.compile(r"^Stopped\. "))).to_be_visible(timeout=10_000)
    wait_for_app(page)
    expect(page.get_by_text("Leaderboard", exact=True)).to_be_visible()
    no_exception(page)
    shot(page, "race-stopped")


def test_a_link_brings_its_setup_back(page, server):
    url, _ = server
    page.goto(f"{url}/race?{urlencode({'c1': 'lion', 'c2': 'adamw', 'c2.weight_decay': '0.05'})}")
    wait_for_app(page)
    no_exception(page)
    expect(page.get_by_text("Contender 2")).to_be_visible()
    expect(page.locator("[role=combobox][aria-label='Optimizer']")).to_have_count(2)
    chosen = page.locator("[role=combobox][aria-label='Optimizer']").evaluate_all(
        "els => els.map(e => e.value || e.textContent)")
    assert chosen == ["Lion", "AdamW"]
    assert "c1=lion" in page.url and "c2.weight_decay=0.05" in page.url
