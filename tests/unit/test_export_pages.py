"""Saving the Sequences and Autoencoders pages' models (issue 17): one zip with a state dict, TorchScript and ONNX
whose reloaded files give the live model's outputs (ONNX through onnxruntime, on a whole batch of a fixed sequence
length), each file's size, and metadata.json; a format a model cannot take is left out with its reason."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch

from labcore.autoencoders import AEConfig, AutoencoderJob
from labcore.autoencoders.models import build_autoencoder
from labcore.autoencoders.pca import as_float_images
from labcore.config import DataConfig, TrainConfig
from labcore.engine import Engine
from labcore.models import default_config
from labcore.serve import bundle as bundle_module
from labcore.serve.bundle import TOLERANCE, autoencoder_bundle, contender_bundle, read_metadata, transfer_bundle
from labcore.train.compare import SequencesJob, compare_config

ort = pytest.importorskip("onnxruntime")


def _finish(job):
    Engine(max_running=1).submit(job)
    assert job.join(120) and job.status == "finished", job.error
    return job


@pytest.fixture(scope="module")
def forecast():
    """An LSTM and a Transformer forecasting sines 3 steps ahead from windows of 24, after 2 epochs."""
    models = [default_config("lstm"), default_config("transformer")]
    return _finish(SequencesJob(compare_config(DataConfig(name="sines", seq_len=24, horizon=3), models, epochs=2, lr=3e-3)))


def _files(zipped: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(zipped)) as z:
        return {name: z.read(name) for name in z.namelist()}


def _onnx(raw: bytes, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(raw, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


@pytest.mark.parametrize("index", [0, 1], ids=["lstm", "transformer"])
def test_a_trained_sequence_model_round_trips_through_every_format(forecast, index):
    job, data = forecast, forecast.data
    live = job.contenders[index].trainer.model.cpu().eval()
    x = data.x_test[:50].float()
    with torch.no_grad():
        expected = live(x).numpy()
    bundle = contender_bundle(job, index)
    files = _files(bundle.zip_bytes())
    assert set(files) == {"state_dict.pt", "model.pt", "model.onnx", "metadata.json"} and not bundle.errors
    scripted = torch.jit.load(io.BytesIO(files["model.pt"]))
    np.testing.assert_allclose(scripted(x).detach().numpy(), expected, atol=TOLERANCE)
    out = _onnx(files["model.onnx"], x)  # a batch of 50 through a file traced on one window
    assert out.shape == (50, 3)
    np.testing.assert_allclose(out, expected, atol=TOLERANCE)
    assert all(c.ok for c in bundle.checks.values()) and set(bundle.checks) == {"state_dict", "torchscript", "onnx"}
    meta = read_metadata(bundle.zip_bytes())
    assert {name: f["bytes"] for name, f in meta["files"].items()} == {n: len(files[n]) for n in meta["files"]}
    assert meta["onnx"] == {"input": "sequence", "output": "output", "opset": 17, "dynamic_batch": True,
                            "sequence_length": 24}
    assert meta["config"]["model"]["name"] == job.contenders[index].name and meta["seed"] == 0
    assert meta["test_metrics"]["loss"] == pytest.approx(job.contenders[index].test_loss)
    assert meta["dataset"]["scale"]["std"] > 0 and meta["versions"]["torch"] == torch.__version__ and meta["created"]


def test_a_recall_classifier_exports_with_its_vocabulary_and_accuracy():
    cfg = compare_config(DataConfig(name="recall", seq_len=10, n_samples=200), [default_config("gru")], epochs=1, lr=3e-3)
    job = _finish(SequencesJob(cfg))
    bundle = contender_bundle(job, 0)
    files = _files(bundle.zip_bytes())
    x = job.data.x_test[:20].float()
    with torch.no_grad():
        expected = job.contenders[0].trainer.model.cpu().eval()(x).numpy()
    np.testing.assert_allclose(_onnx(files["model.onnx"], x), expected, atol=TOLERANCE)
    meta = json.loads(files["metadata.json"])
    assert meta["test_metrics"]["accuracy"] == pytest.approx(job.contenders[0].test_acc)
    assert meta["dataset"]["vocabulary"] == job.data.extras["vocab"]


@pytest.mark.parametrize("model", ["conv", "vae"])
def test_a_trained_autoencoder_round_trips_through_every_format(model):
    cfg = AEConfig(data=DataConfig(name="digits"), train=TrainConfig(epochs=2, batch_size=64, num_threads=1), model=model,
                   latent_dim=2, width=64, holdout=(3,))
    job = _finish(AutoencoderJob(cfg))
    ae, data = job.trainer.model.cpu().eval(), job.trainer.data
    x = as_float_images(data.x_test[:40])
    with torch.no_grad():
        expected = ae.decode(ae.encode(x)).numpy()  # a VAE's evaluation decodes its means
    bundle = autoencoder_bundle(job.trainer.model, cfg, data, job.outcome)
    files = _files(bundle.zip_bytes())
    scripted = torch.jit.load(io.BytesIO(files["model.pt"]))
    np.testing.assert_allclose(scripted(x).detach().numpy(), expected, atol=TOLERANCE)
    out = _onnx(files["model.onnx"], x)
    assert out.shape == (40, 1, 8, 8)
    np.testing.assert_allclose(out, expected, atol=TOLERANCE)
    fresh = build_autoencoder(model, data.input_shape, 2, 64, seed=99).eval()  # the weights alone, in a new network
    fresh.load_state_dict(torch.load(io.BytesIO(files["state_dict.pt"]), weights_only=True))
    np.testing.assert_allclose(fresh.decode(fresh.encode(x)).detach().numpy(), expected, atol=TOLERANCE)
    assert all(c.ok for c in bundle.checks.values()) and len(bundle.checks) == 3
    meta = json.loads(files["metadata.json"])
    assert meta["test_metrics"]["reconstruction_mse"] == pytest.approx(job.outcome.test_recon)
    assert meta["test_metrics"]["anomaly_auc"] == pytest.approx(job.outcome.scores.roc()[3])
    assert meta["model"]["variational"] is (model == "vae") and meta["config"]["holdout"] == [3]
    assert meta["onnx"]["output"] == "reconstruction" and meta["files"]["model.onnx"]["bytes"] == len(files["model.onnx"])


def test_a_format_that_cannot_export_is_left_out_with_its_reason(forecast, monkeypatch):
    real = bundle_module.export

    def no_onnx(model, fmt, shape, names):
        if fmt == "onnx":
            raise RuntimeError("Exporting the operator 'aten::fancy' to ONNX is not supported")
        return real(model, fmt, shape, names)

    monkeypatch.setattr(bundle_module, "export", no_onnx)
    bundle = contender_bundle(forecast, 0)
    assert "aten::fancy" in bundle.errors["onnx"] and bundle.checks["onnx"].skipped == "export"
    assert set(_files(bundle.zip_bytes())) == {"state_dict.pt", "model.pt", "metadata.json"}
    assert bundle.checks["torchscript"].ok and "aten::fancy" in bundle.meta["not_exported"]["onnx"]


def test_the_best_transfer_network_round_trips_and_names_its_strategy():
    from labcore.transfer.job import TransferConfig, TransferJob
    from labcore.transfer.job import as_float as pixels

    cfg = TransferConfig(strategies=("features", "finetune"), train=TrainConfig(epochs=2, batch_size=16, num_threads=1))
    job = _finish(TransferJob(cfg))
    bundle = transfer_bundle(job)
    files = _files(bundle.zip_bytes())
    x = pixels(job.trainer.data.x_test[:30])
    with torch.no_grad():
        expected = job.trainer.model.cpu().eval()(x).numpy()
    np.testing.assert_allclose(_onnx(files["model.onnx"], x), expected, atol=TOLERANCE)
    np.testing.assert_allclose(torch.jit.load(io.BytesIO(files["model.pt"]))(x).detach().numpy(), expected, atol=TOLERANCE)
    assert all(c.ok for c in bundle.checks.values()) and len(bundle.checks) == 3
    meta = json.loads(files["metadata.json"])
    assert meta["model"] == {"backbone": "lab_digits", "strategy": job.best.strategy}
    assert meta["test_metrics"]["accuracy"] == pytest.approx(job.outcome.test_accuracy)
    assert meta["config"]["strategies"] == ["features", "finetune"] and meta["seed"] == 0
