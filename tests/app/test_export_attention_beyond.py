"""AppTest: "Save the model" on the Attention and Beyond classification pages (issue 17): after a tiny run the
expander lists the four files with their sizes and round trips, and the zip downloads."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

from labcore import links, tracking
from labcore.beyond.train import BeyondConfig
from labcore.config import DataConfig
from labcore.data.shapes import SHAPE_NAMES
from labcore.models import default_config
from labcore.train.compare import compare_config
from tests.app.conftest import job_of, open_linked, open_page, poll

pytest.importorskip("onnxruntime")
FILES = ["state_dict.pt", "model.pt", "model.onnx", "metadata.json"]


def _downloads(at: AppTest) -> str:
    return str(at.get("download_button"))


def _saved(at: AppTest, key: str, title: str = "Save the model") -> None:
    """The expander is there, each file has a size and the three model files read back the same outputs."""
    poll(at, lambda a: f"{key}.download" in _downloads(a), timeout=90)
    assert not at.exception, at.exception
    assert any(e.label == title for e in at.expander)
    table = next(d.value for d in at.dataframe if "Round trip" in d.value.columns)
    assert list(table["File"]) == FILES
    assert all(c.startswith("✓ same outputs") for c in table["Round trip"][:3])
    assert all(s.endswith("KB") for s in table["Size"])


@pytest.mark.usefixtures("fresh_registry")
def test_the_attention_page_saves_its_transformer_and_its_vit():
    at = open_page("views/attention.py")
    assert not any(e.label == "Save the model" for e in at.expander)
    at.slider(key="att.text_epochs").set_value(1).run()
    at.button(key="att.text_job.train").click().run()
    poll(at, lambda a: job_of(a, "att.text_job").done)
    _saved(at, "att.text_job.export")
    assert any("one-hot sentences of exactly" in c.value for c in at.caption)
    at.selectbox(key="att.vit_data").set_value("digits").run()
    at.slider(key="att.vit_epochs").set_value(1).run()
    at.button(key="att.vit_job.train").click().run()
    poll(at, lambda a: job_of(a, "att.vit_job").done)
    poll(at, lambda a: "att.vit_job.export.download" in _downloads(a), timeout=90)
    assert sum(e.label == "Save the model" for e in at.expander) == 2
    assert any("images of shape (N, 1, 8, 8)" in c.value for c in at.caption)


@pytest.mark.usefixtures("fresh_registry")
def test_the_beyond_page_saves_its_detector():
    at = open_linked("views/beyond.py")
    at.slider(key="by.det.epochs").set_value(1).run()
    at.select_slider(key="by.det.train").set_value(128).run()
    at.button(key="by.job.detect.train").click().run()
    poll(at, lambda a: job_of(a, "by.job.detect").done, timeout=120)
    at.run()
    _saved(at, "by.det.export")
    assert any("(N, 8)" in c.value for c in at.caption)
    meta = json.loads(next(j.value for j in at.json if "TinyDetector" in str(j.value)))
    assert meta["dataset"]["classes"] == list(SHAPE_NAMES)


@pytest.mark.usefixtures("fresh_registry")
def test_the_race_saves_the_contender_picked():
    at = open_page("views/race.py")
    at.selectbox(key="race.model").set_value("mlp").run()
    at.slider(key="race.epochs").set_value(1).run()
    at.button(key="race.btn_start").click().run()
    poll(at, lambda a: job_of(a, "race_job_id").done)
    at.run()
    assert any(e.label == "Save a contender's model" for e in at.expander)
    assert len(at.dataframe) == 1  # the leaderboard only: nothing is built before a pick
    pick = at.selectbox(key="race.export.model")
    assert pick.value is None and len(pick.options) == len(at.session_state["race.ids"])
    pick.set_value(1).run()
    _saved(at, "race.export", "Save a contender's model")
    meta = json.loads(at.json[0].value)
    assert meta["race"]["contender"] == 2 and meta["config"]["model"]["name"] == "mlp"


def test_the_runs_page_reopens_attention_and_beyond_runs_on_their_pages(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("LAB_TRACKING", "1")
    monkeypatch.setenv("LAB_TRACKING_URI", uri)
    store = tracking.shared(uri)
    now = int(time.time() * 1000)
    epochs = [{"epoch": e, "loss": 1.0 / e} for e in (1, 2)]
    att = compare_config(DataConfig(name="recall"), [replace(default_config("transformer"), depth=3, heads=1)],
                         epochs=9, lr=3e-3).run(0)
    store.add(tracking.RunRecord("attention", tracking.flatten(att) | {"attention.panel": "text"},
                                 {"page": "attention", "dataset": "recall", "model": "transformer", "optimizer": "adam"},
                                 epochs, {"epochs_run": 2.0}, "finished", now - 2000, now - 1000, name="transformer"))
    det = BeyondConfig(task="detect", epochs=7, n_train=256, seed=4)
    store.add(tracking.RunRecord("beyond", tracking.flatten(det), {"page": "beyond", "dataset": "shapes",
                                 "model": "detector", "optimizer": "adam", "task": "detect"}, epochs,
                                 {"epochs_run": 2.0}, "finished", now - 1000, now, name="detector"))
    assert store.flush(30)
    at = open_linked("views/runs.py", pages="attention,beyond")
    assert not at.exception, at.exception
    assert sorted(at.dataframe[0].value["Page"]) == ["Attention", "Beyond classification"]
    picker = at.multiselect(key="rn.selected")
    picker.set_value(picker.options).run()
    assert not at.exception, at.exception
    opens = {p.proto.page: p.proto for p in at.get("page_link") if p.proto.label.startswith("Open this setup")}
    assert set(opens) == {"attention", "beyond"}
    opened = {page: links.read(page, {k: v[-1] for k, v in parse_qs(p.query_string).items()}) for page, p in opens.items()}
    values, ignored = opened["attention"]
    assert ignored == [] and (values["panel"], values["text.data"], values["text.layers"], values["text.heads"],
                              values["text.epochs"]) == ("text", "recall", 3, 1, 9)
    values, ignored = opened["beyond"]
    assert ignored == [] and (values["panel"], values["det.epochs"], values["det.train"], values["det.seed"]) == (
        "detect", 7, 256, 4)
