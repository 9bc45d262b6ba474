"""Real browser (lessons 1 and 12): the Neurons page's "ML vs DL" training-loop stepper moves through its stages and
steps with the Next button, its numbers changing from one real SGD step to the next; the Training tricks rotation
comparison runs from its link to its verdict and the P(6)/P(9) chart of the turned test digits."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import no_exception, shot, wait_for_app

pytestmark = pytest.mark.e2e

LOSS = re.compile(r"After the step the same batch's loss went from (\d+\.\d{4}) to (\d+\.\d{4})")


def test_the_training_loop_stepper_advances_with_next(page, server):
    url, _ = server
    page.goto(f"{url}/neurons?panel=mlvsdl&loop.stage=backward")
    wait_for_app(page)
    tab = page.get_by_role("tabpanel", name=re.compile("ML vs DL"))
    expect(tab.get_by_text("The training loop", exact=True)).to_be_visible()
    nxt = tab.get_by_role("button", name="Next stage")
    step = tab.get_by_role("slider", name="Training step")
    expect(step).to_have_value("0")
    expect(tab.get_by_text(LOSS)).to_have_count(0)  # the backward stage: no step taken yet
    nxt.click()  # backward → optimizer step: the loss before and after the step
    first = tab.get_by_text(LOSS)
    expect(first).to_be_visible(timeout=30_000)
    wait_for_app(page)
    before0, after0 = LOSS.search(first.inner_text()).groups()
    assert float(after0) < float(before0)  # learning rate 0.5: the first step goes downhill
    nxt.click()  # → the next step's batch
    expect(step).to_have_value("1", timeout=30_000)
    expect(tab.get_by_role("radio", name="Batch")).to_be_checked()
    expect(tab.get_by_text(LOSS)).to_have_count(0)
    for stage in ("Model (forward)", "Loss", "Backward", "Optimizer step"):  # one click, one stage
        nxt.click()
        expect(tab.get_by_role("radio", name=stage)).to_be_checked(timeout=30_000)
    second = tab.get_by_text(LOSS)
    expect(second).to_be_visible(timeout=30_000)
    before1, after1 = LOSS.search(second.inner_text()).groups()
    assert (before1, after1) != (before0, after0), "the second step shows the first step's numbers"
    expect(step).to_have_value("1")
    no_exception(page)
    shot(page, "neurons-training-loop")


def test_the_rotation_comparison_runs_to_its_verdict(page, server):
    url, _ = server
    page.goto(f"{url}/tricks?panel=compare&compare=rotation")
    wait_for_app(page)
    no_exception(page)
    page.get_by_role("button", name="Start the comparison").click()
    expect(page.get_by_text("What happened", exact=True)).to_be_visible(timeout=180_000)
    wait_for_app(page)
    expect(page.get_by_text("The test digits turned from 0° to 360°", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"On the upright test set, the ±180° model took \d+ of the \d+ sixes and nines")
                            )).to_be_visible()
    expect(page.get_by_text(re.compile(r"Upright 6s get P\(6\) = \d\.\d\d from the ±15° model, and the same digits "
                                       r"turned by 180° P\(9\) = \d\.\d\d\."))).to_be_visible()
    chart = page.locator("[data-testid='stPlotlyChart']").filter(has_text="P(6)")
    expect(chart.first).to_be_visible()
    expect(chart.first).to_contain_text("P(9)")
    no_exception(page)
    chart.first.scroll_into_view_if_needed()
    shot(page, "tricks-rotation")
