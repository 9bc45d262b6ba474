"""Real browser: open the lab, train, watch the chart gain points, stop, and never see an exception box."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import no_exception, plot_points, shot, wait_for_app

pytestmark = pytest.mark.e2e


def _curve_point_count(page) -> int:
    return plot_points(page)


def test_every_page_opens_without_an_exception(page, server):
    url, _ = server
    for path in ("", "train"):
        page.goto(f"{url}/{path}")
        wait_for_app(page)
        no_exception(page)
        expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
        shot(page, f"page-{path or 'home'}")


def test_train_streams_points_then_stop(page, server):
    url, log = server
    page.goto(f"{url}/train")
    wait_for_app(page)
    # Many epochs so it is still running when we look twice and press Stop.
    epochs = page.get_by_test_id("stSidebar").get_by_label("Epochs", exact=True).get_by_role("slider")
    epochs.focus()
    epochs.press("End")
    # The slider sends its value after a short debounce: wait until the page has it (it writes the link).
    page.wait_for_url(re.compile(r"train\.epochs=100"), timeout=30_000)
    wait_for_app(page)
    t0 = time.perf_counter()
    page.get_by_role("button", name="Train").click()
    # Generous timeouts: they bound a busy CI machine, not the lab's speed (`bench first_point` measures that).
    expect(page.get_by_text(re.compile(r"Training · epoch"))).to_be_visible(timeout=60_000)
    deadline = time.time() + 30
    first = 0
    while time.time() < deadline and first == 0:
        first = _curve_point_count(page)
        time.sleep(0.1)
    first_point_s = time.perf_counter() - t0
    assert first > 0, "no points on the chart"
    time.sleep(1.5)
    second = _curve_point_count(page)
    assert second > first, f"the chart did not gain points ({first} -> {second})"
    no_exception(page)
    shot(page, "train-running")
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text(re.compile(r"Stopped\. The model"))).to_be_visible(timeout=30_000)
    wait_for_app(page)
    no_exception(page)
    expect(page.get_by_text("Test accuracy", exact=True)).to_be_visible()
    shot(page, "train-stopped")
    print(f"first points visible {first_point_s:.2f} s after pressing Train (browser incl. polling)")


def test_full_run_shows_results(page, server):
    url, _ = server
    page.goto(f"{url}/train")
    wait_for_app(page)
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_text(re.compile(r"Finished: .* classified correctly"))).to_be_visible(timeout=120_000)
    wait_for_app(page)
    no_exception(page)
    for tab in ("Confusion matrix", "Per class", "ROC curves", "Predictions"):
        page.get_by_role("tab", name=tab).click()
        no_exception(page)
    shot(page, "train-finished")


def test_diverging_run_explains_itself(page, server):
    url, _ = server
    page.goto(f"{url}/train")
    wait_for_app(page)
    lr = page.get_by_test_id("stSidebar").get_by_role("slider", name="Learning rate")
    lr.focus()
    lr.press("End")
    wait_for_app(page)
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_text(re.compile("The loss exploded"))).to_be_visible(timeout=30_000)
    no_exception(page)
    shot(page, "train-diverged")
