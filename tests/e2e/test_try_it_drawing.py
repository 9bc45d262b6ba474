"""Real browser: train a digits CNN, draw a 7 on the Try it pad with the mouse, read the prediction; Undo and
Clear work, and after Clear the page waits for a drawing again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import no_exception, shot, wait_for_app

pytestmark = pytest.mark.e2e


def _stroke(page, box, points) -> None:
    """One stroke with the mouse through points given in [0, 1] of the pad."""
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x0 + points[0][0] * w, y0 + points[0][1] * h)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(x0 + x * w, y0 + y * h, steps=8)
    page.mouse.up()


def test_draw_a_seven_read_it_undo_and_clear(page, server):
    url, _ = server
    page.goto(f"{url}/train?data.name=digits&model.name=cnn&train.epochs=10")
    wait_for_app(page)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text(re.compile(r"Finished: .* classified correctly"))).to_be_visible(timeout=120_000)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Try it").click()  # same tab, same session
    wait_for_app(page)
    page.get_by_test_id("stButtonGroup").get_by_role("radio", name="Drawing").click()
    wait_for_app(page)
    pad = page.locator("canvas[data-testid='lab-canvas']")  # inside the component's (open) shadow root
    expect(pad).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Waiting for a picture.")).to_be_visible()
    box = pad.bounding_box()
    _stroke(page, box, [(0.35, 0.2), (0.7, 0.2), (0.45, 0.85)])  # a plain 7: the bar, then the stem
    prediction = page.get_by_test_id("stMetric").filter(has_text="Prediction")
    expect(prediction).to_be_visible(timeout=30_000)
    expect(page.get_by_text("8×8 pixels, exactly the model's input.")).to_be_visible()
    expect(prediction.get_by_test_id("stMetricValue")).to_have_text("7")
    no_exception(page)
    shot(page, "try-it-drawing-7")
    _stroke(page, box, [(0.1, 0.9), (0.9, 0.9)])  # a second stroke, then Undo takes it back
    wait_for_app(page)
    page.locator(".lab-canvas button[data-act='undo']").click()
    wait_for_app(page)
    expect(prediction.get_by_test_id("stMetricValue")).to_have_text("7")
    page.locator(".lab-canvas button[data-act='clear']").click()
    expect(page.get_by_text("Waiting for a picture.")).to_be_visible(timeout=30_000)
    expect(prediction).to_have_count(0)
    assert pad.evaluate("c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                        " for (let i = 0; i < d.length; i += 4) if (d[i] > 0) return false; return true; }")
    no_exception(page)
