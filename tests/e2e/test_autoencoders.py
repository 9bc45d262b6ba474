"""Real browser: the autoencoders page starts a run, the latent scatter gains points and they move while it
trains, a click on the map decodes that spot, Stop leads to the result tabs, and no exception box shows."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, no_exception, shot, wait_for_app

pytestmark = pytest.mark.e2e

# The first plotly chart of the page is the live latent map; its dots carry customdata (the click grid does not).
SCATTER = """() => {
  const el = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  if (!el || !el.data) return null;
  const dots = el.data.filter(t => t.customdata !== undefined);
  const arr = a => a ? Array.from(a._inputArray || a) : [];
  return {n: dots.reduce((n, t) => n + arr(t.x).length, 0),
          first: dots.length ? [arr(dots[0].x)[0], arr(dots[0].y)[0]] : null,
          star: el.data.some(t => t.marker && t.marker.symbol === 'star')};
}"""


def _scatter(page) -> dict:
    return page.evaluate(SCATTER) or {"n": 0, "first": None, "star": False}


def _wait(page, until, timeout: float = 30.0) -> dict:
    assert eventually(lambda: until(_scatter(page)), timeout), f"the latent map never got there: {_scatter(page)}"
    return _scatter(page)


def test_training_fills_the_latent_map_and_a_click_decodes(page, server):
    url, _ = server
    page.goto(f"{url}/autoencoders")
    wait_for_app(page)
    no_exception(page)
    expect(page.get_by_role("heading", name="Autoencoders")).to_be_visible()
    assert _scatter(page)["n"] == 0
    shot(page, "autoencoders-setup")

    # A long run, so it is still training while we look twice: the epochs slider to its maximum.
    epochs = page.get_by_role("slider", name="Epochs")
    epochs.focus()
    epochs.press("End")
    expect(epochs).to_have_attribute("aria-valuetext", "300")
    wait_for_app(page)
    page.get_by_role("button", name="Train", exact=True).click()
    expect(page.get_by_text(re.compile(r"Training · epoch"))).to_be_visible(timeout=15_000)
    first = _wait(page, lambda s: s["n"] > 0)
    assert first["n"] == 540  # digits: every validation and test image
    moved = _wait(page, lambda s: s["n"] and s["first"] != first["first"])  # the codes move as the model learns
    assert moved["n"] == first["n"]
    no_exception(page)

    # Pause (a map redrawn twice a second is a moving target), click it: the decoder panel shows that spot
    # and the map marks it with a star.
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_text(re.compile(r"Paused · epoch"))).to_be_visible(timeout=10_000)
    wait_for_app(page)
    z1 = page.get_by_label("z₁", exact=True)
    before = z1.input_value()
    area = page.locator('[data-testid="stPlotlyChart"]').first.locator(".nsewdrag")
    box = None
    while box is None:  # the map is redrawn twice a second; catch it between two redraws
        area.wait_for()
        box = area.bounding_box()
    x, y = box["x"] + box["width"] * 0.37, box["y"] + box["height"] * 0.41
    page.mouse.move(x, y)  # hover first, as a person does: plotly picks the nearest click target
    page.mouse.click(x, y)
    expect(z1).not_to_have_value(before, timeout=10_000)
    _wait(page, lambda s: s["star"])
    expect(page.get_by_text("Decoded", exact=True).first).to_be_visible()  # a redraw may briefly show two
    wait_for_app(page)
    shot(page, "autoencoders-paused")
    page.get_by_role("button", name="Resume", exact=True).click()
    expect(page.get_by_text(re.compile(r"Training · epoch"))).to_be_visible(timeout=10_000)

    # Pause again before Stop: on a fast machine the 300 epochs could otherwise end before the click lands.
    # Then let the Pause rerun finish: a click during a rerun can be lost (seen once in a full run).
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_text(re.compile(r"Paused · epoch"))).to_be_visible(timeout=10_000)
    wait_for_app(page)
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.get_by_role("tab", name="Reconstructions")).to_be_visible(timeout=15_000)
    wait_for_app(page)
    no_exception(page)
    expect(page.get_by_text(re.compile(r"^Stopped\. "))).to_be_visible()
    page.get_by_role("tab", name="Autoencoder vs PCA").click()
    expect(page.get_by_text("Test reconstruction error with k = 2")).to_be_visible()
    shot(page, "autoencoders-stopped")
