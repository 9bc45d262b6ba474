"""Save the model on the Attention and Beyond classification pages (issue 17): the toy-sentence Transformer, the
tiny ViT, the U-Net and the two-headed detector each go into one zip whose TorchScript and ONNX files, reloaded
here on their own (torch.jit.load, onnxruntime), give the live model's outputs; the detector's (logits, box) come
back side by side in one tensor."""

from __future__ import annotations

import io
import warnings
import zipfile
from dataclasses import replace

import numpy as np
import pytest
import torch

from labcore.beyond.export import beyond_bundle
from labcore.beyond.train import BeyondConfig, fit
from labcore.config import DataConfig
from labcore.engine import Engine
from labcore.models import default_config
from labcore.serve.bundle import FILES, TOLERANCE, contender_bundle, race_bundle, read_metadata
from labcore.train.compare import AttentionJob, compare_config, vit_config

ort = pytest.importorskip("onnxruntime")


def _reloaded(zipped: bytes, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The zip's TorchScript and ONNX files, loaded on their own, on `x`."""
    with zipfile.ZipFile(io.BytesIO(zipped)) as z:
        script, onnx = z.read(FILES["torchscript"]), z.read(FILES["onnx"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.load(io.BytesIO(script), map_location="cpu")
    with torch.no_grad():
        a = scripted(x).numpy()
    session = ort.InferenceSession(onnx, providers=["CPUExecutionProvider"])
    b = session.run(None, {session.get_inputs()[0].name: x.numpy().astype(np.float32)})[0]
    return a, b


def _attention_job(cfg) -> AttentionJob:
    job = AttentionJob(cfg)
    Engine(max_running=1).submit(job)
    assert job.join(120) and job.status == "finished", job.error
    return job


@pytest.mark.parametrize("which", ["transformer", "vit"])
def test_the_attention_pages_models_round_trip(which):
    if which == "transformer":
        cfg = compare_config(DataConfig(name="agreement"), [replace(default_config("transformer"), depth=2, heads=2)],
                             epochs=1, lr=3e-3)
    else:
        cfg = vit_config("digits", epochs=1, width=32)
    job = _attention_job(cfg)
    bundle = contender_bundle(job, 0)
    assert not bundle.errors and all(c.ok for c in bundle.checks.values()), bundle.checks
    zipped = bundle.zip_bytes()
    x = job.data.x_test[:16].float()
    if job.data.x_test.dtype == torch.uint8:
        x = x / 255
    model = job.contenders[0].trainer.model.cpu().eval()
    with torch.no_grad():
        live = model(x).numpy()
    for out in _reloaded(zipped, x):
        assert out.shape == live.shape == (16, job.data.num_classes)
        assert np.abs(out - live).max() <= TOLERANCE
    meta = read_metadata(zipped)
    assert meta["config"]["model"]["name"] == which and meta["dataset"]["input_shape"] == list(job.data.input_shape)
    assert meta["test_metrics"]["accuracy"] == pytest.approx(job.contenders[0].test_acc)


@pytest.mark.parametrize("task", ["segment", "detect"])
def test_the_segmenter_and_the_detector_round_trip(task):
    cfg = BeyondConfig(task=task, epochs=1, n_train=128)
    out = fit(cfg)
    bundle = beyond_bundle(cfg, out)
    assert not bundle.errors and set(bundle.checks) == {"state_dict", "torchscript", "onnx"}
    assert all(c.ok for c in bundle.checks.values()), bundle.checks
    zipped = bundle.zip_bytes()
    x = out.test.x[:16].float()
    with torch.no_grad():
        raw = out.model.eval()(x)
    if task == "segment":
        live = raw.numpy()
        assert live.shape == (16, 1, 32, 32)
    else:  # two outputs; the files hold them side by side: 4 class logits, then the box
        logits, box = raw
        live = torch.cat([logits, box], 1).numpy()
        assert live.shape == (16, 8)
    for reloaded in _reloaded(zipped, x):
        assert reloaded.shape == live.shape
        assert np.abs(reloaded - live).max() <= TOLERANCE
    if task == "detect":  # the boxes read back from the file are the page's predicted boxes
        assert np.allclose(reloaded[:, 4:] * 32, out.pred_boxes[:16], atol=1e-3)
        assert (reloaded[:, :4].argmax(1) == out.pred_labels[:16]).all()
    meta = read_metadata(zipped)
    assert meta["config"]["task"] == task and meta["dataset"]["input_shape"] == [3, 32, 32]
    key = "mask_iou" if task == "segment" else "box_iou"
    assert meta["test_metrics"][key] == pytest.approx(out.last.iou)
    state = torch.load(io.BytesIO(zipfile.ZipFile(io.BytesIO(zipped)).read(FILES["state_dict"])), weights_only=True)
    assert set(state) == set(out.model.state_dict())  # the net's own names, for TinyUNet / TinyDetector


def test_a_race_contender_is_saved_as_the_race_trained_it():
    from labcore.config import OptimConfig, TrainConfig
    from labcore.train.race import Contender, RaceConfig, RaceJob

    cfg = RaceConfig(data=DataConfig(name="digits"), model=default_config("cnn"),
                     train=TrainConfig(epochs=1, num_threads=1),
                     contenders=(Contender(OptimConfig(name="sgd", lr=0.05)), Contender(OptimConfig(name="adam", lr=3e-3))))
    job = RaceJob(cfg)
    Engine(max_running=1).submit(job)
    assert job.join(120) and job.status == "finished", job.error
    data = job.race.data
    x = data.x_test[:16].float()
    bundles = [race_bundle(job, i) for i in range(2)]
    for i, bundle in enumerate(bundles):
        assert not bundle.errors and all(c.ok for c in bundle.checks.values()), bundle.checks
        with torch.no_grad():
            live = job.race.contender_model(i)(x).numpy()
        for out in _reloaded(bundle.zip_bytes(), x):
            assert np.abs(out - live).max() <= TOLERANCE
        meta = bundle.meta
        with torch.no_grad():
            acc = float((job.race.contender_model(i)(data.x_test.float()).argmax(1) == data.y_test).float().mean())
        assert meta["test_metrics"]["accuracy"] == pytest.approx(acc) and meta["race"]["contender"] == i + 1
        assert meta["config"]["optim"]["name"] == cfg.contenders[i].optim.name
    with torch.no_grad():  # two contenders, two different networks
        assert not torch.allclose(job.race.contender_model(0)(x), job.race.contender_model(1)(x))
