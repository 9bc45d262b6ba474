"""Real browser (lessons 5, 15 and 22): three Evaluation tabs from their links. "Messy tables" fits its models as an
engine task and shows the ColumnTransformer and the comparison; the Regression tab on the CO₂ lags names the models
whose R² is below zero; the Deep vs classic tab with SHAP on draws the waterfall of one test row."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import no_exception, shot, wait_for_app

pytestmark = pytest.mark.e2e


def test_messy_tables_show_the_pipeline_and_the_comparison(page, server):
    url, _ = server
    page.goto(f"{url}/evaluation?panel=tables")
    wait_for_app(page)
    tab = page.get_by_role("tabpanel", name="Messy tables")
    expect(tab.get_by_text(re.compile(r"card payments, \d+ of them fraud"))).to_be_visible()
    expect(tab.get_by_text("The preprocessing: one ColumnTransformer", exact=True)).to_be_visible(timeout=90_000)
    expect(tab.get_by_text(re.compile(r"Fitted on the \d+ training rows alone .*: \d+ raw columns in, \d+ numeric columns out\."))
           ).to_be_visible()
    expect(tab.get_by_text("The MLP and the classic models, same split", exact=True)).to_be_visible()
    verdict = re.compile(r"PR-AUC \(average precision .*\): the MLP 0\.\d{3}; the best classic model, .+, \d\.\d{3}\.")
    expect(tab.get_by_text(verdict)).to_be_visible()
    expect(tab.get_by_test_id("stDataFrame")).to_have_count(3)  # the raw rows, the structure, the scores
    wait_for_app(page)
    no_exception(page)
    tab.get_by_text(verdict).scroll_into_view_if_needed()
    shot(page, "evaluation-tables")


def test_regression_on_the_co2_lags_names_the_negative_r2(page, server):
    url, _ = server
    page.goto(f"{url}/evaluation?panel=regression&reg.data=lags")
    wait_for_app(page)
    tab = page.get_by_role("tabpanel", name="Regression")
    expect(tab.get_by_text("Mauna Loa CO₂", exact=False)).to_be_visible()
    negative = tab.get_by_text(re.compile(r"R² below zero: .*\(-\d+\.\d{3}\)"))
    expect(negative).to_be_visible(timeout=60_000)
    expect(negative).to_contain_text("Mean (baseline) (-")  # the training months' mean lies far below the test ones
    expect(tab.get_by_text("The test months over time", exact=True)).to_be_visible()
    wait_for_app(page)
    no_exception(page)
    shot(page, "evaluation-regression-lags")


def test_deep_vs_classic_with_shap_draws_the_waterfall(page, server):
    url, _ = server
    page.goto(f"{url}/evaluation?panel=compare&shap=1")
    wait_for_app(page)
    tab = page.get_by_role("tabpanel", name="Deep vs classic")
    expect(tab.get_by_text("Why this answer? SHAP values of the MLP", exact=True)).to_be_visible()
    summary = tab.get_by_text(re.compile(r"Test row 0: truly .+\. The MLP gives .+ a probability of 0\.\d{3} "
                                         r"\(on average over the background rows: 0\.\d{3}\) and predicts .+\."))
    expect(summary).to_be_visible(timeout=150_000)
    expect(tab.get_by_text(re.compile(r"Average \+ this row's SHAP values = \d\.\d{4}; the MLP's own probability: \d\.\d{4}"))
           ).to_be_visible()
    waterfall = tab.locator("[data-testid='stPlotlyChart']").filter(has_text="Probability of")
    expect(waterfall.first).to_be_visible()
    wait_for_app(page)
    no_exception(page)
    waterfall.first.scroll_into_view_if_needed()
    shot(page, "evaluation-shap")
