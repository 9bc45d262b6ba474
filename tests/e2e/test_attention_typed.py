"""Real browser (lesson 11): the Attention page after a one-epoch sentence Transformer. A student's own sentence gets
the model's prediction; a word the model has never seen gets a warning that names it. The Positions tab draws the
sinusoidal encoding's heat maps without any training."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import no_exception, shot, wait_for_app

pytestmark = pytest.mark.e2e

TYPED = "Or type a sentence with the task's words"


def test_a_typed_sentence_gets_a_prediction_and_an_unknown_word_a_warning(page, server):
    url, _ = server
    page.goto(f"{url}/attention?text.epochs=1&text.layers=1&text.heads=1")
    wait_for_app(page)
    page.get_by_role("button", name="Train the Transformer").click()
    expect(page.get_by_text("Attention maps", exact=True)).to_be_visible(timeout=120_000)
    wait_for_app(page)
    no_exception(page)
    typed = page.get_by_role("textbox", name=TYPED)
    typed.fill("the idea near the students [?] popular")
    typed.press("Enter")
    said = page.get_by_text(re.compile(r"the idea near the students \[\?\] popular → the model says (was|were) \(\d+% sure\)"))
    expect(said).to_be_visible(timeout=30_000)
    expect(said).not_to_contain_text("the answer is")  # a typed sentence has no answer to compare with
    wait_for_app(page)
    no_exception(page)

    typed.fill("the zebra near the students [?] popular")
    typed.press("Enter")
    warning = page.get_by_text(re.compile(r"The model has never seen these words: zebra\. It knows only:"))
    expect(warning).to_be_visible(timeout=30_000)
    wait_for_app(page)
    expect(page.get_by_text("zebra near", exact=False)).to_have_count(0)  # no prediction for the refused sentence
    no_exception(page)
    warning.scroll_into_view_if_needed()
    shot(page, "attention-typed-unknown")


def test_the_positions_tab_draws_its_heat_maps_without_training(page, server):
    url, _ = server
    page.goto(f"{url}/attention?panel=positions&pe.dim=16&pe.length=20")
    wait_for_app(page)
    no_exception(page)
    tab = page.get_by_role("tabpanel", name="Positions")
    expect(tab.get_by_text("The sinusoidal encoding", exact=True)).to_be_visible()
    expect(tab.get_by_text("Train the Transformer on the Sentences tab", exact=False)).to_be_visible()
    chart = tab.locator("[data-testid='stPlotlyChart']").first
    expect(chart).to_contain_text("Position vectors (position × dimension)")
    expect(chart).to_contain_text("Similarity between positions (cosine)")
    # the two heat maps: 20 positions × 16 dimensions, and 20 × 20 similarities
    expect(chart.locator(".js-plotly-plot")).to_be_attached()
    cells = chart.locator(".js-plotly-plot").evaluate(
        """el => (el.calcdata || []).filter(cd => cd[0] && cd[0].z).map(cd => [cd[0].z.length, cd[0].z[0].length])""")
    assert cells == [[20, 16], [20, 20]], cells
    no_exception(page)
    shot(page, "attention-positions")
