"""Real browser: the instant pages of the first lessons. Every tab of Neurons and losses and of Convolution draws
from a link with no exception box; the universal-approximation tab trains in the background and draws its fit;
a typed kernel of NaNs gets a sentence, not a traceback."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from labcore.links import NEURON_PANELS
from tests.e2e.conftest import ARTIFACTS, no_exception, wait_for_app

pytestmark = pytest.mark.e2e


def _shot(page, name: str) -> None:
    """The first chart on screen (other tabs' charts are in the page too, hidden), once it has settled."""
    page.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("[data-testid='stPlotlyChart']:visible").first.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_every_neurons_tab_opens_from_its_link_and_the_approximation_trains(page, server):
    url, _ = server
    for panel in NEURON_PANELS:
        page.goto(f"{url}/neurons?panel={panel}")
        wait_for_app(page)
        no_exception(page)
        expect(page.get_by_role("tab", selected=True)).to_have_count(1)
    page.goto(f"{url}/neurons?panel=approximation&approx.width=16&approx.deep=1")
    wait_for_app(page)
    expect(page.get_by_text("mean squared error", exact=False).first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("16 neurons · 49 weights: mean squared error", exact=False)).to_be_visible()
    expect(page.get_by_text("3 × 3 × 3 neurons · 34 weights: mean squared error", exact=False)).to_be_visible()
    wait_for_app(page)
    no_exception(page)
    _shot(page, "neurons-approximation")


def test_a_kernel_of_nans_is_refused_in_words(page, server):
    url, _ = server
    page.goto(f"{url}/convolution?kernel=custom&custom=nan%20nan%3B%20nan%20nan")
    wait_for_app(page)
    no_exception(page)
    expect(page.get_by_role("alert").first).to_be_visible()
    for tab in page.get_by_role("tab").all():
        tab.click()
        wait_for_app(page)
        no_exception(page)
    page.get_by_role("tab", name="Receptive field").click()
    expect(page.get_by_text("sees a 10×10 patch", exact=False)).to_be_visible()  # 2 blocks: 3, 4, 8, 10 pixels
    _shot(page, "convolution-receptive")


def test_mlp_and_cnn_race_on_the_convolution_page(page, server):
    url, _ = server
    page.goto(f"{url}/convolution?mvc.data=shapes&mvc.epochs=3")
    wait_for_app(page)
    page.get_by_role("tab", name="MLP vs CNN").click()
    page.get_by_role("button", name="Train both").click()
    expect(page.get_by_text("3 epochs. On small", exact=False)).to_be_visible(timeout=120_000)  # the caption after the run
    wait_for_app(page)
    no_exception(page)
    expect(page.get_by_text("201,092 weights", exact=False).first).to_be_visible()
    _shot(page, "convolution-mlp-vs-cnn")
