"""AppTest: the Training tricks page's two comparisons for the seed lesson's last items, and the Train page's
layer-norm switch. Input scaling: its preset shows the raw features' ranges before anything runs, and the race
ends with SGD on raw features at the majority share. Ensembles: five members' decision boundaries and the averaged
one, and a table whose ensemble row is the averaged probabilities' scores."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from sklearn.metrics import log_loss

from labcore.presets import BY_ID
from labcore.tricks import compare as cm
from tests.app.conftest import job_of, open_linked, poll

PAGE = "views/tricks.py"


def _verdict(at) -> str:
    return " ".join(s.value for s in at.success)


def _run(at) -> None:
    at.button(key="tk.cmp.start").click().run()
    assert not at.exception, at.exception
    poll(at, lambda a: job_of(a, "tk.cmp.job").done)
    at.run()
    assert not at.exception, at.exception


def test_input_scaling_from_its_preset(fresh_registry):
    at = open_linked(PAGE, **BY_ID["tricks-scaling"].query)
    assert at.session_state["link_ignored"] == []
    assert at.selectbox(key="tk.compare").value == "scaling"
    assert any("raw measurements" in i.value for i in at.info)
    charts = len(at.get("plotly_chart"))
    assert any("30 features, sorted by their typical size" in c.value for c in at.caption)  # the ranges, before a run
    _run(at)
    job = job_of(at, "tk.cmp.job")
    val = {s.index: s.epochs[-1]["val_acc"] for s in job.standings()}
    assert val[1] > val[0] + 0.25  # standardised SGD far ahead of raw SGD
    text = _verdict(at)
    assert "SGD with momentum on raw features did no better than that" in text
    assert len(at.get("plotly_chart")) == charts
    assert at.query_params["compare"] == "scaling"


def test_an_ensemble_of_five_with_boundaries_and_table(fresh_registry, monkeypatch):
    full = cm.BUILDERS["ensemble"]

    def short() -> cm.Comparison:  # the section's shape; the effect is in tests/unit/test_tricks_scaling_ensemble.py
        c = full()
        return replace(c, race=replace(c.race, train=replace(c.race.train, epochs=20)))

    monkeypatch.setitem(cm.BUILDERS, "ensemble", short)
    at = open_linked(PAGE, **BY_ID["tricks-ensemble"].query)
    assert at.selectbox(key="tk.compare").value == "ensemble"
    before = len(at.get("plotly_chart"))
    _run(at)
    race = job_of(at, "tk.cmp.job").race
    (table,) = at.dataframe
    frame = table.value
    assert len(frame) == cm.MEMBERS + 2  # five members, their mean, the ensemble
    loss = frame.iloc[:, 2].to_numpy()
    assert loss[-1] < loss[-2] and loss[-2] == np.mean(loss[:cm.MEMBERS])
    data = race.data
    probs = []
    for i in range(cm.MEMBERS):
        model = race.contender_model(i).eval()
        with torch.no_grad():
            probs.append(torch.softmax(model(data.x_val).double(), 1).numpy())
    assert loss[-1] == log_loss(data.y_val.numpy(), np.mean(probs, 0))
    assert len(at.get("plotly_chart")) == before + cm.MEMBERS + 1  # each member's boundary and the average's
    assert f"the ensemble {loss[-1]:.3f}, below the members' mean" in _verdict(at)


def test_the_train_page_offers_layer_norm(fresh_registry):
    at = open_linked("views/train.py", **{"data.name": "moons", "model.name": "mlp", "model.layer_norm": "1"})
    assert at.session_state["link_ignored"] == []
    switch = at.toggle(key="model.mlp.layer_norm")
    assert switch.value is True and "takes its place" in switch.help
    switch.set_value(False).run()
    assert not at.exception, at.exception
    assert "model.layer_norm" not in at.query_params
