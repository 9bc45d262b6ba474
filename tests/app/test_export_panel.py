"""AppTest: "Save the model" on the Sequences and Autoencoders pages (issue 17): after a finished run the files, their
sizes and round trips are listed and the zip downloads; a format a model cannot take is named in a warning, never a
traceback. The Runs page reopens a Sequences or Autoencoders run's setup on its own page."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

from labcore import links, tracking
from labcore.i18n import t
from tests.app.conftest import job_of, open_linked, open_page, poll

pytest.importorskip("onnxruntime")
FILES = ["state_dict.pt", "model.pt", "model.onnx", "metadata.json"]


def _files_table(at: AppTest):
    return next(d.value for d in at.dataframe if "Round trip" in d.value.columns)


def _downloads(at: AppTest) -> str:
    return str(at.get("download_button"))


@pytest.mark.usefixtures("fresh_registry")
def test_a_sequences_comparison_saves_each_model_it_trained():
    at = open_page("views/sequences.py")
    at.slider(key="seq.length").set_value(12).run()
    at.slider(key="seq.m_epochs").set_value(1).run()
    at.multiselect(key="seq.m_models").set_value(["gru", "transformer"]).run()
    at.button(key="seq.memory_job.train").click().run()
    poll(at, lambda a: job_of(a, "seq.memory_job").done)
    poll(at, lambda a: "seq.m_export.download" in _downloads(a), timeout=60)
    assert any(e.label == "Save the model" for e in at.expander)
    table = _files_table(at)
    assert list(table["File"]) == FILES
    assert all(c.startswith("✓ same outputs") for c in table["Round trip"][:3])
    assert all(s.endswith("KB") for s in table["Size"])
    assert at.selectbox(key="seq.m_export.model").value == 0
    at.selectbox(key="seq.m_export.model").set_value(1).run()  # the Transformer: ONNX too, on a fixed length
    poll(at, lambda a: "seq.m_export.download" in _downloads(a) and '"name": "transformer"' in str(a.json[0].value),
         timeout=60)
    assert all(c.startswith("✓ same outputs") for c in _files_table(at)["Round trip"][:3])
    assert any("exactly 12 steps" in c.value for c in at.caption)


@pytest.mark.usefixtures("fresh_registry")
def test_an_autoencoder_saves_and_a_format_that_fails_is_named(monkeypatch):
    from labcore.serve import bundle

    real = bundle.export

    def no_onnx(model, fmt, shape, names):
        if fmt == "onnx":
            raise RuntimeError("operator not supported")
        return real(model, fmt, shape, names)

    monkeypatch.setattr(bundle, "export", no_onnx)
    at = open_page("views/autoencoders.py")
    at.slider(key="ae.epochs").set_value(5).run()
    at.button(key="ae.btn_train").click().run()
    poll(at, lambda a: job_of(a, "ae_job_id").done)
    poll(at, lambda a: "ae.export.download" in _downloads(a), timeout=60)
    table = _files_table(at)
    assert list(table["File"]) == ["state_dict.pt", "model.pt", "metadata.json", "model.onnx"]
    assert table["Round trip"].iloc[-1] == "export failed: operator not supported" and table["Size"].iloc[-1] == "–"
    said = t("export.not_exported", "en", format="ONNX", reason="operator not supported")
    assert said in [w.value for w in at.warning]
    assert all(c.startswith("✓ same outputs") for c in table["Round trip"][:2])


@pytest.mark.usefixtures("fresh_registry")
def test_the_transfer_page_saves_its_best_network_in_one_zip_or_format_by_format_when_huge(monkeypatch):
    at = open_page("views/transfer.py", timeout=90)
    at.slider(key="tl.epochs").set_value(2).run()
    at.button(key="tl.btn_start").click().run()
    poll(at, lambda a: job_of(a, "tl_job_id").done)
    poll(at, lambda a: "tl.export.download" in _downloads(a), timeout=60)
    table = _files_table(at)
    assert list(table["File"]) == FILES and all(c.startswith("✓ same outputs") for c in table["Round trip"][:3])
    from app import export_panel

    monkeypatch.setattr(export_panel, "BUNDLE_MAX_WEIGHTS", 1000)  # as if it were VGG-16
    at.run()
    assert not at.exception, at.exception
    assert any(i.value.startswith("This network has") for i in at.info)
    shown = _downloads(at)
    assert all(f"tl.export.{fmt}" in shown for fmt in ("state_dict", "torchscript", "onnx"))
    assert "tl.export.download" not in shown


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("LAB_TRACKING", "1")
    monkeypatch.setenv("LAB_TRACKING_URI", uri)
    return tracking.shared(uri)


def _record(page: str, params: dict[str, str], model: str, dataset: str) -> tracking.RunRecord:
    now = int(time.time() * 1000)
    epochs = [{"epoch": e, "loss": 1.0 / e, "val_loss": 1.1 / e} for e in (1, 2)]
    tags = {"page": page, "dataset": dataset, "model": model, "optimizer": "adam"}
    return tracking.RunRecord(page, params, tags, epochs, {"epochs_run": 2.0}, "finished", now - 1000, now,
                              name=f"{model} · {dataset}")


def test_the_runs_page_reopens_sequences_and_autoencoder_runs_on_their_pages(store):
    from labcore.autoencoders import AEConfig
    from labcore.config import DataConfig, TrainConfig
    from labcore.models import default_config
    from labcore.train.compare import compare_config

    seq = compare_config(DataConfig(name="recall", seq_len=30, noise=0.2), [default_config("rnn"), default_config("lstm")],
                         epochs=7, lr=3e-3)
    store.add(_record("sequences", tracking.flatten(seq.run(1)) | {"sequences.tab": "memory",
                                                                    "sequences.models": "rnn,lstm"}, "lstm", "recall"))
    ae = AEConfig(data=DataConfig(name="digits"), train=TrainConfig(epochs=20), model="conv", latent_dim=4, lr=3e-3)
    store.add(_record("autoencoders", tracking.flatten(ae), "conv", "digits"))
    assert store.flush(30)
    at = open_linked("views/runs.py", pages="sequences,autoencoders", model="conv,lstm")
    assert not at.exception, at.exception
    assert sorted(at.dataframe[0].value["Page"]) == ["Autoencoders", "Sequences"]
    picker = at.multiselect(key="rn.selected")
    picker.set_value(picker.options).run()
    assert not at.exception, at.exception
    opens = {p.proto.page: p.proto for p in at.get("page_link") if p.proto.label.startswith("Open this setup")}
    assert set(opens) == {"sequences", "autoencoders"}
    assert opens["sequences"].label.startswith("Open this setup on the Sequences page")
    opened = {page: links.read(page, {k: v[-1] for k, v in parse_qs(p.query_string).items()}) for page, p in opens.items()}
    values, ignored = opened["sequences"]
    assert ignored == [] and (values["memory.length"], values["memory.distractors"], values["memory.epochs"],
                              values["memory.models"]) == (30, 0.2, 7, ("rnn", "lstm"))
    values, ignored = opened["autoencoders"]
    assert ignored == [] and (values["model"], values["latent_dim"], values["lr"], values["train.epochs"]) == (
        "conv", 4, 0.003, 20)
