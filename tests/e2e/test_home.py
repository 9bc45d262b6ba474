"""Real browser: the Home page's course map opens a preset's page set up, also when that page was open before
in the same tab (a preset is a st.page_link, so the session and its widgets' state come along)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import eventually, no_exception, shot, wait_for_app

pytestmark = pytest.mark.e2e


def _href(page) -> str:
    # Streamlit rewrites the address with history.replaceState, which Playwright's `page.url` does not see.
    return page.evaluate("() => window.location.href")


def _open_preset(page, lesson: str, preset: str) -> None:
    page.get_by_role("link", name="Home").click()
    wait_for_app(page)
    page.get_by_text(lesson, exact=True).click()
    page.get_by_role("link", name=preset).click()
    wait_for_app(page)


def test_a_preset_opens_its_page_set_up(page, server):
    url, _ = server
    page.goto(f"{url}/train")  # the Train page has a setup of its own first (the digits CNN)
    wait_for_app(page)
    _open_preset(page, "2. What is a neural network?", "XOR with one small hidden layer")
    assert eventually(lambda: "data.name=xor" in _href(page)), _href(page)
    expect(page.get_by_text("Model summary: 42 parameters")).to_be_visible(timeout=30_000)  # the 2-8-2 MLP
    no_exception(page)
    shot(page, "home-preset-xor")
    _open_preset(page, "10. Autoencoders", "Anomaly detection: digit 0 never seen")
    assert eventually(lambda: "holdout=0" in _href(page)), _href(page)
    no_exception(page)
