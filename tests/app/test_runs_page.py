"""AppTest: the Runs page (issue 17). Empty store: a message, no table. After two recorded runs: both in the table,
picking them overlays their curves and the setup comparison marks the learning rate (and only what differs)."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from labcore import links, tracking
from labcore.i18n import t
from tests.app.conftest import open_linked

pytest.importorskip("mlflow")
PAGE = "views/runs.py"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One store for the module, named by LAB_TRACKING_URI as a server would be (MLflow's first import is slow)."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("runs")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mp.setenv("LAB_TRACKING", "1")
    mp.setenv("LAB_TRACKING_URI", uri)
    yield tracking.shared(uri)
    mp.undo()


def _open(**query: str) -> AppTest:
    return open_linked(PAGE, **query)


def _record(lr: float, accuracy: float) -> tracking.RunRecord:
    from labcore.config import OptimConfig, RunConfig, TrainConfig

    cfg = RunConfig(optim=OptimConfig(lr=lr), train=TrainConfig(epochs=2))
    now = int(time.time() * 1000)
    epochs = [{"epoch": e, "loss": lr * 10 / e, "acc": 0.5, "val_loss": lr * 12 / e, "val_acc": 0.4 + 0.2 * e}
              for e in (1, 2)]
    tags = {"page": "train", "dataset": "digits", "model": "cnn", "optimizer": "adam"}
    return tracking.RunRecord("train", tracking.flatten(cfg), tags, epochs,
                              {"test_accuracy": accuracy, "epochs_run": 2.0}, "finished", now - 1000, now,
                              name=f"cnn · digits · adam {lr:g}")


def test_an_empty_history_says_how_to_fill_it(store):
    at = _open()
    assert t("runs.empty", "en") in [i.value for i in at.info]
    assert not at.dataframe


def test_two_runs_are_listed_and_compared(store):
    for lr, acc in ((0.001, 0.9), (0.01, 0.8)):
        store.add(_record(lr, acc))
    assert store.flush(30)
    at = _open()
    table = at.dataframe[0].value
    assert len(table) == 2
    assert sorted(table["Learning rate"]) == [0.001, 0.01]
    assert sorted(table["Test accuracy (%)"]) == pytest.approx([80.0, 90.0])
    at.multiselect(key="rn.selected").set_value(at.multiselect(key="rn.selected").options).run()
    assert not at.exception, at.exception
    assert len(at.get("plotly_chart")) == 1
    compare = at.dataframe[1].value
    assert compare.loc["optim.lr", "Differs"] and not compare.loc["train.epochs", "Differs"]
    assert sorted(compare.loc["optim.lr"].iloc[1:]) == ["0.001", "0.01"]
    at.toggle(key="rn.only_diff").set_value(True).run()
    assert list(at.dataframe[1].value.index) == ["optim.lr"]  # the only setting that differs
    opens = [p.proto for p in at.get("page_link") if p.proto.label.startswith("Open this setup")]
    assert len(opens) == 2 and all(p.page == "train" for p in opens), opens
    assert sum("optim.lr" in str(p) for p in opens) == 1  # Adam's default 0.001 is not written into a link


def test_filters_come_from_the_link_and_deleting_removes_runs(store):
    at = _open(model="mlp")  # no MLP run recorded
    assert at.multiselect(key="rn.model").value == ["mlp"]
    assert not at.dataframe
    at = _open(optim="adam", limit="10")
    assert len(at.dataframe[0].value) == 2
    picker = at.multiselect(key="rn.selected")
    picker.set_value(picker.options[:1]).run()
    at.button(key="rn.delete").click().run()
    assert not at.exception, at.exception
    assert len(at.dataframe[0].value) == 1 and len(store.runs()) == 1
    values, ignored = links.read("runs", {"optim": "adam,warp", "limit": "5"})
    assert ignored == ["optim"] and values["limit"] == 10


def test_without_mlflow_or_switched_off_the_page_says_so(store, monkeypatch):
    monkeypatch.setattr(tracking, "available", lambda: False)
    at = _open(model="cnn")
    assert t("runs.no_mlflow", "en", extra="tracking") in [i.value for i in at.info]
    assert at.multiselect(key="rn.model").value == ["cnn"] and not at.dataframe  # the link is still read
    monkeypatch.undo()
    monkeypatch.setenv("LAB_TRACKING", "0")
    at = _open()
    assert [i.value for i in at.info] == [t("runs.off", "en")] and not at.dataframe
