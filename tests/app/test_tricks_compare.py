"""AppTest: the Training tricks page's Comparisons tab. A preset's link opens the tab on its comparison, Start
runs it as a race to the end and a verdict computed from its numbers appears; an unknown comparison in a link
is ignored with the page's usual message."""

from __future__ import annotations

import json
from dataclasses import replace

from streamlit.testing.v1 import AppTest

from labcore.presets import BY_ID
from labcore.tricks import compare as cm
from tests.app.conftest import job_of, open_linked, poll

PAGE = "views/tricks.py"


def _open(**query: str) -> AppTest:
    return open_linked(PAGE, **query)


def _verdict(at: AppTest) -> str:
    return " ".join(s.value for s in at.success)


def test_a_comparison_starts_from_its_preset_and_ends_with_a_verdict(fresh_registry):
    at = _open(**BY_ID["tricks-clipping"].query)
    assert at.session_state["link_ignored"] == []
    assert at.session_state["tk.panel"] == "compare"
    assert at.selectbox(key="tk.compare").value == "clipping"
    assert any("exploding setup" in i.value for i in at.info)
    assert not _verdict(at)  # nothing runs unasked
    at.button(key="tk.cmp.start").click().run()
    assert not at.exception, at.exception
    poll(at, lambda a: job_of(a, "tk.cmp.job").done)
    at.run()
    assert not at.exception, at.exception
    job = job_of(at, "tk.cmp.job")
    lanes = {s.index: s for s in job.standings()}
    assert lanes[0].status == "diverged" and lanes[1].status == "finished"
    verdict = _verdict(at)
    assert f"diverged at step {lanes[0].diverged_step}" in verdict and "Clipped at norm 0.25" in verdict
    assert len(at.get("plotly_chart")) == 4  # std panels, histograms, the race and the gradient norms
    assert at.query_params["compare"] == "clipping" and at.query_params["panel"] == "compare"

    # Another comparison: the clipping verdict is not shown as its result.
    at.selectbox(key="tk.compare").set_value("batchnorm").run()
    assert not at.exception, at.exception
    assert not _verdict(at) and "compare" not in at.query_params  # the default: links name only what differs


def test_the_regularisation_table(fresh_registry, monkeypatch):
    full = cm.BUILDERS["regularisation"]

    def short() -> cm.Comparison:  # the table's shape, not the effect (tests/unit/test_tricks_compare.py): 10 epochs
        c = full()
        return replace(c, race=replace(c.race, train=replace(c.race.train, epochs=10)))

    monkeypatch.setitem(cm.BUILDERS, "regularisation", short)
    at = _open(panel="compare", compare="regularisation")
    at.button(key="tk.cmp.start").click().run()
    poll(at, lambda a: job_of(a, "tk.cmp.job").done)
    at.run()
    assert not at.exception, at.exception
    assert "The baseline ended with training accuracy" in _verdict(at)
    (table,) = at.dataframe
    assert len(table.value) == 6  # five contenders and the baseline stopped early
    assert table.value["Contender"].iloc[1].startswith("+ early stopping")


def test_an_unknown_comparison_in_a_link_is_ignored():
    at = _open(panel="compare", compare="magic")
    assert "compare" in at.session_state["link_ignored"]
    assert at.selectbox(key="tk.compare").value == "batchnorm"
    assert any("settings the page cannot use" in w.value for w in at.warning)


def test_the_bn_batch_size_comparison_from_its_preset(fresh_registry, monkeypatch):
    full = cm.BUILDERS["bn_batch_size"]

    def short() -> cm.Comparison:  # the verdict's path, not the full effect (tests/unit/test_tricks_compare.py)
        c = full()
        return replace(c, race=replace(c.race, train=replace(c.race.train, epochs=2)))

    monkeypatch.setitem(cm.BUILDERS, "bn_batch_size", short)
    at = _open(**BY_ID["tricks-bn-batch-size"].query)
    assert at.session_state["link_ignored"] == []
    assert at.selectbox(key="tk.compare").value == "bn_batch_size"
    assert any("from just 2 examples" in i.value for i in at.info)
    at.button(key="tk.cmp.start").click().run()
    poll(at, lambda a: job_of(a, "tk.cmp.job").done)
    at.run()
    assert not at.exception, at.exception
    lanes = {s.index: s for s in job_of(at, "tk.cmp.job").standings()}
    verdict = _verdict(at)
    assert f"Batch norm, batches of 2: training accuracy {100 * lanes[0].epochs[-1]['acc']:.1f} %" in verdict
    assert "No batch norm, batches of 2" in verdict and "too noisy" in verdict
    assert at.query_params["compare"] == "bn_batch_size"


def test_the_capacity_comparison_marks_where_validation_loss_turned_up(fresh_registry):
    at = _open(**BY_ID["tricks-capacity"].query)
    assert at.selectbox(key="tk.compare").value == "capacity"
    at.button(key="tk.cmp.start").click().run()
    poll(at, lambda a: job_of(a, "tk.cmp.job").done)
    at.run()
    assert not at.exception, at.exception
    large = {s.index: s for s in job_of(at, "tk.cmp.job").standings()}[2]
    epoch = cm.turn(large)["epoch"]
    assert "Large MLP (4 × 256) overfits" in _verdict(at)
    race = json.loads(at.get("plotly_chart")[-1].proto.spec)
    assert epoch in [shape["x0"] for shape in race["layout"]["shapes"]]
    assert any("Dotted lines" in c.value for c in at.caption)
