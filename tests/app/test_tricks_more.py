"""AppTest: the Training tricks page's newer comparisons (issue 12): layer norm vs batch norm, the training-set size
(its slider is a link param) and the rotation pitfall (its probe chart after the race, its digit a link param).
The effects themselves are tested in tests/unit/test_tricks_more.py; here the races are shortened where the page's
path, not the effect, is under test."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from labcore.data import load_dataset, stratified_subset
from labcore.presets import BY_ID
from labcore.tricks import compare as cm
from tests.app.conftest import job_of, open_linked, poll

PAGE = "views/tricks.py"


def _verdict(at: AppTest) -> str:
    return " ".join(s.value for s in at.success)


def _run(at: AppTest) -> None:
    at.button(key="tk.cmp.start").click().run()
    assert not at.exception, at.exception
    poll(at, lambda a: job_of(a, "tk.cmp.job").done)
    at.run()
    assert not at.exception, at.exception


def _shorter(monkeypatch: pytest.MonkeyPatch, name: str, epochs: int) -> None:
    full = cm.BUILDERS[name]

    def short(*args) -> cm.Comparison:
        c = full(*args)
        return replace(c, race=replace(c.race, train=replace(c.race.train, epochs=epochs)))

    monkeypatch.setitem(cm.BUILDERS, name, short)


def test_the_training_set_size_slider_sets_the_shares_and_the_link(fresh_registry):
    at = open_linked(PAGE, **BY_ID["tricks-data-size"].query)
    assert at.session_state["link_ignored"] == []
    assert at.selectbox(key="tk.compare").value == "data_size"
    assert at.select_slider(key="tk.cmp.fraction").value == 0.02
    n = len(stratified_subset(load_dataset("digits").y_train.numpy(), 0.02))
    assert any(f"2 % of the training set ({n} examples), 14 % of the training set" in c.value for c in at.caption)
    _run(at)
    job = job_of(at, "tk.cmp.job")
    assert sorted(h.n for h in job.race.heats)[0] == n
    verdict = _verdict(at)
    assert f"2 % of the training set ({n} examples): training accuracy" in verdict and "a gap of" in verdict
    (table,) = at.dataframe
    assert list(table.value["Training examples"]) == sorted(h.n for h in job.race.heats)
    assert at.query_params["cmp.fraction"] == "0.02" and at.query_params["compare"] == "data_size"

    # Another share: the run at 2 % is not this one's result.
    at.select_slider(key="tk.cmp.fraction").set_value(0.1).run()
    assert not at.exception, at.exception
    assert not _verdict(at) and not at.dataframe
    assert at.query_params["cmp.fraction"] == "0.1"


def test_a_share_the_slider_does_not_offer_snaps_to_the_nearest_and_text_is_ignored():
    at = open_linked(PAGE, panel="compare", compare="data_size", **{"cmp.fraction": "0.5"})
    assert at.session_state["link_ignored"] == [] and at.select_slider(key="tk.cmp.fraction").value == 0.2
    at = open_linked(PAGE, panel="compare", compare="data_size", **{"cmp.fraction": "half"})
    assert "cmp.fraction" in at.session_state["link_ignored"]
    assert at.select_slider(key="tk.cmp.fraction").value == cm.SMALLEST


def test_layer_norm_vs_batch_norm_from_its_preset(fresh_registry, monkeypatch):
    _shorter(monkeypatch, "norms", 1)
    at = open_linked(PAGE, **BY_ID["tricks-norms"].query)
    assert at.selectbox(key="tk.compare").value == "norms"
    assert any("layer norm normalises each example" in i.value for i in at.info)
    _run(at)
    verdict = _verdict(at)
    assert "Validation accuracy at batches of 2: batch norm" in verdict
    assert "Validation accuracy at batches of 64" in verdict
    race = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert {"Layer norm, batches of 2", "No normalisation, batches of 64"} <= {d.get("name") for d in race["data"]}


def test_the_rotation_probe_after_its_race(fresh_registry, monkeypatch):
    _shorter(monkeypatch, "rotation", 3)
    at = open_linked(PAGE, panel="compare", compare="rotation", **{"cmp.digit": "9"})
    assert at.session_state["link_ignored"] == []
    assert any("a CNN with 2 convolution blocks" in c.value for c in at.caption)
    assert not at.get("plotly_chart")[-1].proto.spec.count("P(6)")  # no probe before the race
    _run(at)
    assert "Rotations up to ±180°: training accuracy" in _verdict(at)
    assert at.segmented_control(key="tk.cmp.digit").value == 9
    probe = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert [d["name"] for d in probe["data"]] == ["P(6)", "P(9)"] * 2
    text = " ".join(m.value for m in at.markdown)
    assert "sixes and nines for the other digit" in text and "Upright 9s get P(9)" in text
    (table,) = at.dataframe
    assert list(table.value["Contender"]) == ["Rotations up to ±180°", "Rotations up to ±15°"]
    assert at.query_params["cmp.digit"] == "9"

    at.segmented_control(key="tk.cmp.digit").set_value(6).run()
    assert not at.exception, at.exception
    assert "Upright 6s get P(6)" in " ".join(m.value for m in at.markdown)
    assert "cmp.digit" not in at.query_params  # the default
