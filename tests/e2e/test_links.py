"""Real browser: on every page, change a setting, copy the address, open it in a fresh browser (a new context:
no cookies, no session) and find the same setting there. No training."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from labcore.i18n import t
from tests.e2e.conftest import eventually, no_exception, wait_for_app

pytestmark = pytest.mark.e2e

# page url path: (widget key, how to change it, the param it must write into the address)
SETTINGS = {
    "train": ("train.epochs", "slider", "train.epochs=21"),
    "playground": ("pg.steps", "slider", "steps=310"),
    "race": ("race.epochs", "slider", "train.epochs=11"),
    "explain": ("ex_index", "number", "index=7"),
    "transfer": ("tl.epochs", "slider", "train.epochs=31"),
    "sequences": ("seq.horizon", "slider", "forecast.horizon=2"),
    "attention": ("att.layers", "slider", "text.layers=3"),
    "autoencoders": ("ae.latent", "slider", "latent_dim=3"),
    "neurons": ("nr.perceptron.w1", "slider", "perceptron.w1=1.1"),
    "evaluation": ("ev.threshold", "slider", "threshold=0.51"),
    "convolution": ("conv.pos", "slider", "pos=19"),
    "tricks": ("tk.init.depth", "slider", "init.depth=21"),
    "precision": ("pr.number", "number", "number=0.25"),
    "runs": ("rn.limit", "number", "limit=50"),
    "sweep": ("sw.epochs", "slider", "epochs=5"),
    "beyond": ("by.seg.epochs", "slider", "seg.epochs=6"),
}


def _href(page) -> str:
    # Streamlit rewrites the address with history.replaceState, which Playwright's `page.url` does not see.
    return page.evaluate("() => window.location.href")


def _css(key: str) -> str:
    return ".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key)


def _value(page, key: str, how: str) -> str:
    widget = page.locator(_css(key))
    return (widget.get_by_role("slider") if how == "slider" else widget.locator("input")).input_value()


def _open(page, url: str) -> None:
    page.goto(url)
    wait_for_app(page)
    no_exception(page)


@pytest.mark.parametrize("path", list(SETTINGS))
def test_a_changed_setting_survives_a_copied_link(browser, server, page, path):
    url, _ = server
    key, how, param = SETTINGS[path]
    _open(page, f"{url}/{path}")
    widget = page.locator(_css(key))
    expect(widget).to_be_visible(timeout=60_000)
    if how == "slider":
        widget.get_by_role("slider").focus()
        widget.get_by_role("slider").press("ArrowRight")
    else:
        widget.locator("input").fill(param.split("=")[1])
        widget.locator("input").press("Enter")
    assert eventually(lambda: param in _href(page), 30), _href(page)
    wait_for_app(page)
    no_exception(page)
    before, link = _value(page, key, how), _href(page)
    assert before == param.split("=")[1]

    fresh = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        other = fresh.new_page()
        _open(other, link)
        expect(other.locator(_css(key))).to_be_visible(timeout=60_000)
        # waited for, not read once: on a loaded machine the first paint can come before the linked value
        assert eventually(lambda: _value(other, key, how) == before, 30), _value(other, key, how)
        assert eventually(lambda: _href(other) == link, 10), (_href(other), link)  # nothing dropped or added
        expect(other.get_by_text("settings the page cannot use")).to_have_count(0)
    finally:
        fresh.close()


def test_try_it_and_the_language_travel_with_the_link(browser, server, page):
    """Try it has nothing to set before a model is trained, but its link keeps its source and the language."""
    url, _ = server
    _open(page, f"{url}/try-it?source=camera&lang=he&nope=1")
    expect(page.get_by_role("heading", name=t("try_it.title", "he"))).to_be_visible()
    expect(page.get_by_text("nope")).to_be_visible()  # named in the warning
    assert eventually(lambda: "nope" not in _href(page), 10), _href(page)  # the page rewrote its address
    link = _href(page)
    assert "source=camera" in link and "lang=he" in link
    fresh = browser.new_context()
    try:
        other = fresh.new_page()
        _open(other, link)
        expect(other.get_by_role("heading", name=t("try_it.title", "he"))).to_be_visible()
        assert eventually(lambda: _href(other) == link, 10), (_href(other), link)
    finally:
        fresh.close()


def test_navigating_away_and_back_keeps_the_setup(server, page):
    """Issue 18 in the browser: epochs 21 on Train, to the playground through the sidebar, back to Train: the
    slider and the address show 21 again."""
    url, _ = server
    _open(page, f"{url}/train")
    slider = page.locator(_css("train.epochs")).get_by_role("slider")
    slider.focus()
    slider.press("ArrowRight")
    assert eventually(lambda: "train.epochs=21" in _href(page), 30), _href(page)
    wait_for_app(page)
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_text(t("nav.playground"), exact=True).click()
    assert eventually(lambda: "/playground" in _href(page) and "train.epochs" not in _href(page), 30), _href(page)
    wait_for_app(page)
    nav.get_by_text(t("nav.train"), exact=True).click()
    assert eventually(lambda: "/train" in _href(page) and "train.epochs=21" in _href(page), 30), _href(page)
    wait_for_app(page)
    expect(page.locator(_css("train.epochs")).get_by_role("slider")).to_have_value("21")
    no_exception(page)
