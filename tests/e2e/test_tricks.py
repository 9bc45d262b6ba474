"""Real browser, issue 12: the Train page's "Inside the network" panel follows a run live, and two Training-tricks
comparisons (batch norm at a diverging learning rate; shuffled labels) run from their links to a verdict."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, eventually, no_exception, shot, wait_for_app

pytestmark = pytest.mark.e2e

# Points drawn on the plotly charts inside the open expander (the Inside panel's), from plotly.js's calcdata.
INSIDE_POINTS = """() => { const box = document.querySelector('[data-testid="stExpander"] details[open]');
  if (!box) return 0; let n = 0;
  for (const el of box.querySelectorAll('.js-plotly-plot')) {
    if (!el.calcdata) continue;
    n += el.calcdata.reduce((m, cd) => m + cd.filter(p => p && p.x !== undefined).length, 0); }
  return n; }"""


def _inside_points(page) -> int:
    return page.evaluate(INSIDE_POINTS)


def test_inside_the_network_grows_while_the_run_trains(page, server):
    url, _ = server
    # Slow motion (20 ms a step) and many epochs: still training when we look twice.
    page.goto(f"{url}/train?data=digits&model=cnn&train.epochs=100&train.step_delay=0.02")
    wait_for_app(page)
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_text(re.compile(r"Training · epoch"))).to_be_visible(timeout=60_000)
    page.get_by_text("Inside the network", exact=True).click()  # the expander comes with the run
    assert eventually(lambda: _inside_points(page) > 0, 30), "the Inside panel drew nothing while training"
    first = _inside_points(page)
    assert eventually(lambda: _inside_points(page) > first, 30), f"the Inside panel stayed at {first} points"
    expect(page.get_by_text(re.compile(r"Per layer, from \d+ looks"))).to_be_visible()
    no_exception(page)
    shot(page, "train-inside-live")
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text(re.compile(r"Stopped\. The model"))).to_be_visible(timeout=30_000)
    wait_for_app(page)
    no_exception(page)
    assert _inside_points(page) >= first  # the panel keeps the run's looks after it stopped


@pytest.mark.parametrize(("comparison", "verdict"), [
    ("batchnorm", r"Without batch norm: the loss diverged at step \d+"),
    ("random_labels", r"On shuffled labels the network"),
])
def test_a_comparison_runs_from_its_link_to_a_verdict(page, server, comparison, verdict):
    url, _ = server
    page.goto(f"{url}/tricks?panel=compare&compare={comparison}")
    wait_for_app(page)
    no_exception(page)
    page.get_by_role("button", name="Start the comparison").click()
    expect(page.get_by_text("What happened", exact=True)).to_be_visible(timeout=120_000)
    wait_for_app(page)
    expect(page.get_by_text(re.compile(verdict)).first).to_be_visible()
    no_exception(page)
    ARTIFACTS.mkdir(exist_ok=True)
    shot(page, f"tricks-{comparison}")
