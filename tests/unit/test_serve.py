"""Lessons 20-21: the export bundle, the plain PyTorch script, and the prediction service."""

from __future__ import annotations

import io
import json
import runpy
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from labcore.config import RunConfig
from labcore.data import load_dataset
from labcore.models import build_model, count_parameters
from labcore.serve import api, script
from labcore.serve.bundle import FILES, METADATA, TOLERANCE, build_bundle, read_metadata
from labcore.train.trainer import Trainer

MLP = {"name": "mlp", "depth": 2, "width": 32, "batch_norm": False}


def _trained(cfg: RunConfig):
    data = load_dataset(cfg.data)
    trainer = Trainer(cfg, data)
    trainer.fit()
    return trainer.model.eval(), data


@pytest.fixture(scope="module")
def digits_run():
    cfg = RunConfig().with_(model={**MLP, "batch_norm": True}, train={"epochs": 2})
    model, data = _trained(cfg)
    return cfg, model, data, build_bundle(model, cfg, data)


@pytest.fixture(scope="module")
def wine_run():
    cfg = RunConfig().with_(data={"name": "wine"}, model=MLP, train={"epochs": 3})
    model, data = _trained(cfg)
    outcome = SimpleNamespace(test_accuracy=0.9, test_loss=0.3, best_epoch=3, restored_best=False)
    return cfg, model, data, build_bundle(model, cfg, data, outcome)


# -- the bundle ------------------------------------------------------------------------------------------
def test_the_zip_holds_every_format_and_the_metadata(digits_run):
    cfg, _, data, bundle = digits_run
    with zipfile.ZipFile(io.BytesIO(bundle.zip_bytes())) as z:
        names = set(z.namelist())
        assert names == {*FILES.values(), METADATA}
        assert {n: len(z.read(n)) for n in names} == bundle.sizes()
    meta = read_metadata(bundle.zip_bytes())
    assert meta == json.loads(json.dumps(bundle.meta))  # round-trips through JSON unchanged
    assert RunConfig.from_dict(meta["config"]) == cfg
    assert meta["dataset"]["classes"] == data.class_names and meta["dataset"]["input_shape"] == [1, 8, 8]
    assert meta["dataset"]["normalisation"]["mean"] == pytest.approx(list(data.mean))
    assert meta["seed"] == cfg.train.seed and meta["versions"]["torch"] == torch.__version__
    assert {meta["files"][name]["bytes"] for name in FILES.values()} == {bundle.sizes()[n] for n in FILES.values()}


def test_reloaded_files_give_the_live_models_outputs(digits_run):
    cfg, model, data, bundle = digits_run
    x = data.x_test[:16]
    with torch.no_grad():
        expected = model.cpu()(x).numpy()
    fresh = build_model(cfg.model, data, seed=99).eval()
    fresh.load_state_dict(torch.load(io.BytesIO(bundle.files["state_dict.pt"]), weights_only=True))
    np.testing.assert_allclose(fresh(x).detach().numpy(), expected, atol=1e-6)
    scripted = api.load_model(bundle.files["model.pt"])
    np.testing.assert_allclose(scripted(x).detach().numpy(), expected, atol=TOLERANCE)
    assert bundle.checks["torchscript"].ok and bundle.meta["roundtrip"]["torchscript"]["max_abs_diff"] <= TOLERANCE
    assert bundle.checks["state_dict"].max_abs_diff == 0.0
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(bundle.files["model.onnx"], providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"image": x.numpy()})[0], expected, atol=TOLERANCE)
    assert bundle.checks["onnx"].ok


def test_a_broken_copy_fails_the_round_trip(digits_run):
    from labcore.serve.bundle import roundtrip

    cfg, model, data, bundle = digits_run
    other = build_model(cfg.model, data, seed=5).eval()
    checks = roundtrip(other, {"torchscript": bundle.files["model.pt"]}, data.x_test[:8])
    assert checks["torchscript"].ok is False and checks["onnx"].skipped == "export"


def test_tables_record_the_scaler_their_features_need(wine_run):
    meta = wine_run[3].meta
    assert len(meta["dataset"]["scaler"]["mean"]) == 13 and len(meta["dataset"]["feature_names"]) == 13
    assert meta["test_metrics"] == {"accuracy": 0.9, "loss": 0.3, "best_epoch": 3, "restored_best": False,
                                    "test_rows": len(wine_run[2].y_test)}


# -- the plain script -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", [
    RunConfig().with_(model=MLP),
    RunConfig().with_(model={"name": "cnn", "depth": 2, "width": 8, "dropout": 0.2, "init": "kaiming"}),
    RunConfig().with_(data={"name": "breast_cancer"}, model={**MLP, "batch_norm": True, "activation": "gelu"}),
    RunConfig().with_(data={"name": "spirals"}, model={**MLP, "activation": "tanh"}, optim={"name": "momentum"}),
], ids=["digits-mlp", "digits-cnn", "cancer-mlp", "spirals-mlp"])
def test_the_scripts_model_is_the_labs(cfg, tmp_path):
    path = tmp_path / "train.py"
    path.write_text(script.training_script(cfg), encoding="utf-8")
    ns = runpy.run_path(str(path), run_name="not_main")  # defines everything, trains nothing
    data = load_dataset(cfg.data)
    lab = build_model(cfg.model, data, seed=cfg.train.seed)
    torch.manual_seed(cfg.train.seed)
    plain = ns["build_model"](list(data.mean), list(data.std))
    assert count_parameters(plain) == count_parameters(lab)
    assert {k: v.shape for k, v in plain.state_dict().items()} == {k: v.shape for k, v in lab.state_dict().items()}
    for (k, a), b in zip(plain.state_dict().items(), lab.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=k)  # the same seed gives the same starting weights


def test_unsupported_setups_say_why():
    assert script.unsupported(RunConfig().with_(model={"name": "resnet"})) == "script_no_model"
    assert script.unsupported(RunConfig().with_(optim={"name": "lion"})) == "script_no_optimizer"
    assert script.unsupported(RunConfig().with_(augment={"hflip": True})) == "script_no_augment"
    assert script.unsupported(RunConfig()) is None


def test_the_digits_script_trains_on_its_own(tmp_path):
    cfg = RunConfig().with_(model={"name": "mlp", "depth": 2, "width": 64, "batch_norm": False}, train={"epochs": 3})
    path = tmp_path / script.script_name(cfg)
    path.write_text(script.training_script(cfg), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "labcore" not in path.read_text(encoding="utf-8")
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("test accuracy") and float(last.split()[-1]) > 0.8


# -- the service ----------------------------------------------------------------------------------------
def _post(url: str, body: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(url + "/predict", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_inputs_are_checked_without_a_server(wine_run):
    meta = wine_run[3].meta
    assert api.to_input(meta["example"], meta).shape == (1, 13)
    for bad, words in [({"features": [1.0] * 12}, "wrong shape"), ({"features": ["a"] * 13}, "number"),
                       ({"features": [float("nan")] * 13}, "finite"), ({"features": [1e9] * 13}, "out of range"),
                       ({"features": [True] * 13}, "number"), ({"x": 1}, '"features"'), ([1, 2], "JSON object")]:
        with pytest.raises(api.InputError, match=words):
            api.to_input(bad, meta)


def test_the_service_answers_checks_and_stops(wine_run):
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from labcore.serve import service

    _, model, data, bundle = wine_run
    svc = service.start(bundle.files["model.pt"], bundle.meta)
    try:
        status, answer = _post(svc.url, json.dumps(bundle.meta["example"]).encode())
        assert status == 200
        probs = np.array(list(answer["probabilities"].values()))
        assert probs.sum() == pytest.approx(1.0, abs=1e-5)
        with torch.no_grad():
            live = torch.softmax(model.cpu()(data.x_test[:1]), 1)[0].numpy()
        np.testing.assert_allclose(probs, live, atol=1e-5)
        assert answer["label"] == data.class_names[int(live.argmax())]
        for body in (b'{"features": [1, 2]}', b'{"features": [NaN' + b", 0" * 12 + b"]}", b'{"features": "x"}',
                     b"not json", b'{"features": [' + b"1," * 400_000 + b"1]}"):
            status, answer = _post(svc.url, body)
            assert status == 400 and answer["error"]
        with urllib.request.urlopen(svc.url + "/health", timeout=5) as r:
            assert json.loads(r.read())["status"] == "ok"
        with urllib.request.urlopen(svc.url + "/openapi.json", timeout=5) as r:
            assert "/predict" in json.loads(r.read())["paths"]
    finally:
        assert svc.stop()
    assert not service.port_in_use(svc.port)


def test_the_service_ends_with_its_session(digits_run):
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from labcore.serve import service

    bundle = digits_run[3]
    alive = [True]
    svc = service.start(bundle.files["model.pt"], bundle.meta, alive=lambda: alive[0], check_every=0.05)
    status, answer = _post(svc.url, json.dumps(bundle.meta["example"]).encode())
    assert status == 200 and len(answer["probabilities"]) == 10
    alive[0] = False
    svc.thread.join(5)
    assert not svc.thread.is_alive() and not service.port_in_use(svc.port)


def test_without_onnxruntime_the_onnx_check_says_not_checked(digits_run, monkeypatch):
    from labcore.serve.bundle import roundtrip

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    _, model, data, bundle = digits_run
    checks = roundtrip(model.cpu().eval(), bundle.files_by_format(), data.x_test[:4])
    assert checks["onnx"].skipped == "onnxruntime" and checks["onnx"].ok is None
    assert checks["onnx"].to_dict()["checked"] is False and checks["torchscript"].ok


def test_importing_the_serve_package_leaves_fastapi_out():
    probe = ("import sys, labcore.serve.api, labcore.serve.service, labcore.serve.bundle, labcore.serve.script; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette')))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_the_downloaded_api_py_serves_the_bundle_on_its_own(wine_run, tmp_path):
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from labcore.serve import service

    _, model, data, bundle = wine_run
    with zipfile.ZipFile(io.BytesIO(bundle.zip_bytes())) as z:
        z.extractall(tmp_path)
    (tmp_path / "api.py").write_text(service.api_source(), encoding="utf-8")
    port = service.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "api:app", "--port", str(port), "--log-level", "warning"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not service.port_in_use(port):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()[-2000:]
            time.sleep(0.2)
        status, answer = _post(url, json.dumps(bundle.meta["example"]).encode())
        with torch.no_grad():
            live = torch.softmax(model.cpu()(data.x_test[:1]), 1)[0].numpy()
        assert status == 200 and answer["prediction_index"] == int(live.argmax())
        np.testing.assert_allclose(list(answer["probabilities"].values()), live, atol=1e-5)
        assert _post(url, b'{"features": []}')[0] == 400
    finally:
        proc.terminate()
        proc.wait(10)
