"""Lesson 16: the run as a Keras 3 script beside the plain PyTorch one. The generated code always parses and
names the run's layers, activation, optimizer and hyperparameters; where Keras is installed (not a lab
dependency) it also builds the same number of weights and trains on its own."""

from __future__ import annotations

import ast
import os
import runpy
import subprocess
import sys

import pytest
import torch

from labcore.config import RunConfig
from labcore.data import load_dataset
from labcore.i18n import has
from labcore.models import build_model, count_parameters
from labcore.serve import keras_script, script

MLP = {"name": "mlp", "depth": 2, "width": 48, "batch_norm": False}
CONFIGS = {
    "digits-mlp-adam": RunConfig().with_(model=MLP, optim={"lr": 0.003}),
    "digits-cnn-momentum": RunConfig().with_(model={"name": "cnn", "depth": 2, "width": 12, "dropout": 0.2,
                                                    "init": "kaiming", "kernel_size": 5, "pooling": "avg"},
                                             optim={"name": "momentum", "lr": 0.05, "momentum": 0.8}),
    "cancer-mlp-rmsprop": RunConfig().with_(data={"name": "breast_cancer"},
                                            model={**MLP, "batch_norm": True, "activation": "leaky_relu"},
                                            optim={"name": "rmsprop", "alpha": 0.95, "weight_decay": 1e-4},
                                            train={"patience": 3}),
    "spirals-mlp-adamw": RunConfig().with_(data={"name": "spirals"}, model={**MLP, "activation": "tanh", "init": "xavier"},
                                           optim={"name": "adamw", "weight_decay": 0.02, "schedule": "cosine",
                                                  "warmup_epochs": 1.0, "clip_norm": 1.0}, train={"restore_best": True}),
    "wine-mlp-adagrad": RunConfig().with_(data={"name": "wine"}, model={**MLP, "activation": "gelu", "init": "normal"},
                                          optim={"name": "adagrad", "lr": 0.02, "schedule": "step"}),
    "blobs-mlp-nesterov": RunConfig().with_(data={"name": "blobs"}, model={**MLP, "activation": "silu", "dropout": 0.1},
                                            optim={"name": "nesterov"}, train={"batch_size": 16, "epochs": 7, "seed": 3}),
    "digits-cnn-layer-norm": RunConfig().with_(model={"name": "cnn", "depth": 2, "width": 8, "layer_norm": True}),
    "moons-mlp-layer-norm": RunConfig().with_(data={"name": "moons"}, model={**MLP, "layer_norm": True}),
    "moons-mlp-sgd": RunConfig().with_(data={"name": "moons"}, model={**MLP, "activation": "sigmoid", "init": "zeros"},
                                       optim={"name": "sgd", "lr": 0.2, "schedule": "one_cycle"}),
}


@pytest.mark.parametrize("name", CONFIGS)
def test_the_keras_script_parses_and_names_the_run(name):
    cfg = CONFIGS[name]
    code = keras_script.keras_script(cfg)
    tree = ast.parse(code)
    assert {"load_data", "split", "build_model", "main"} <= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "labcore" not in code and "import torch" not in code  # Keras alone (plus numpy and scikit-learn)
    m, o, t = cfg.model, cfg.optim, cfg.train
    widths = [m.width] * m.depth if m.name == "mlp" else [m.width * 2**i for i in range(m.depth)]
    layer = "layers.Dense({})" if m.name == "mlp" else "layers.Conv2D({}, " + str(m.kernel_size)
    names = [call for call in (layer.format(w) for w in widths)]
    if m.name == "mlp" and m.init != "default":
        names = [f"layers.Dense({w}, kernel_initializer=init())" for w in widths]
    pos = [code.index(n) for n in names]  # every hidden layer, in order
    assert pos == sorted(pos)
    classes = len(load_dataset(cfg.data).class_names)
    assert f"layers.Dense({classes}" in code.split("def build_model")[1]
    act = {"leaky_relu": "layers.LeakyReLU(negative_slope=0.01)"}.get(m.activation, f'layers.Activation("{m.activation}")')
    assert code.count(act) == m.depth
    norm = "layers.BatchNormalization(momentum=0.9, epsilon=1e-5)"
    assert code.count(norm) == (m.depth if m.batch_norm and not m.layer_norm else 0)
    norm = "layers.LayerNormalization(" if m.name == "mlp" else "layers.GroupNormalization(1, "
    assert code.count(norm) == (m.depth if m.layer_norm else 0)
    assert code.count(f"layers.Dropout({m.dropout!r})") == (0 if not m.dropout else m.depth if m.name == "mlp" else 1)
    assert f"keras.optimizers.{keras_script.KERAS_OPTIMIZERS[o.name]}(" in code
    assert f"LR = {o.lr!r}" in code and "learning_rate=LR" in code
    assert f"EPOCHS = {t.epochs}" in code and f"BATCH_SIZE = {t.batch_size}" in code and f"SEED = {t.seed}" in code
    assert "SparseCategoricalCrossentropy(from_logits=True)" in code
    start = code.index("optimizer = keras.optimizers.")
    call = code[start:code.index("\n    )", start)]
    assert ("nesterov=True" in call) == (o.name == "nesterov")
    assert (f"momentum={o.momentum!r}" in call) == (o.name in ("momentum", "nesterov"))
    assert (f"rho={o.alpha!r}" in call) == (o.name == "rmsprop")
    assert (f"beta_1={o.beta1!r}" in call) == (o.name in ("adam", "adamw"))
    assert (f"weight_decay={o.weight_decay!r}" in call) == bool(o.weight_decay or o.name == "adamw")
    assert (f"global_clipnorm={o.clip_norm!r}" in call) == (o.clip_norm > 0)
    assert ("class Schedule(keras.callbacks.Callback)" in code) == (o.schedule != "constant" or o.warmup_epochs > 0)
    assert ("EarlyStopping" in code) == bool(t.patience or t.restore_best)
    image = m.name == "cnn" or cfg.data.name == "digits"
    assert ("transpose(0, 2, 3, 1)" in code) == image and ("INPUT_SHAPE = (8, 8, 1)" in code) == image
    assert keras_script.script_name(cfg).endswith("_keras.py") and keras_script.script_name(cfg) != script.script_name(cfg)


def test_the_keras_script_loads_the_same_data_and_split_as_the_pytorch_one():
    cfg = CONFIGS["spirals-mlp-adamw"]
    keras_code, torch_code = keras_script.keras_script(cfg), script.training_script(cfg)
    load = torch_code[torch_code.index("def load_data"):torch_code.index("def split")]
    assert load.strip() and load.strip() in keras_code
    assert "train_test_split(idx, test_size=holdout, stratify=y, random_state=DATA_SEED)" in keras_code


def test_the_differences_follow_the_setup():
    base = keras_script.differences(RunConfig())  # digits CNN with batch norm, default init, adam
    assert {"fit", "softmax", "channels", "batchnorm", "init", "seed"} == set(base)
    table = keras_script.differences(CONFIGS["cancer-mlp-rmsprop"])
    assert "channels" not in table and "weight_decay" in table and "init" in table
    assert "weight_decay" not in keras_script.differences(CONFIGS["spirals-mlp-adamw"])  # AdamW decays alike
    for cfg in CONFIGS.values():
        assert all(has(f"serve.keras.diff_{k}") for k in keras_script.differences(cfg))


def test_the_same_setups_are_refused():
    for changes in ({"model": {"name": "resnet"}}, {"optim": {"name": "lion"}}, {"augment": {"hflip": True}}):
        cfg = RunConfig().with_(**changes)
        assert keras_script.unsupported(cfg) == script.unsupported(cfg) is not None
        with pytest.raises(ValueError):
            keras_script.keras_script(cfg)


# -- with Keras installed (the [test] extra has it; skipped without it locally, never under CI) ---------------
def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras 3 defaults to TensorFlow, which the lab does not have
    if os.environ.get("CI"):
        import keras  # CI installs the [test] extra: a missing Keras is a failure there, not a skip

        return keras
    return pytest.importorskip("keras")


@pytest.mark.parametrize("name", ["digits-mlp-adam", "digits-cnn-momentum", "cancer-mlp-rmsprop", "digits-cnn-layer-norm",
                                  "moons-mlp-layer-norm"])
def test_the_keras_model_has_the_labs_weights_count(name, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    keras = _keras()
    cfg = CONFIGS[name]
    path = tmp_path / "train.py"
    path.write_text(keras_script.keras_script(cfg), encoding="utf-8")
    ns = runpy.run_path(str(path), run_name="not_main")  # defines everything, trains nothing
    data = load_dataset(cfg.data)
    shape = ns["INPUT_SHAPE"]
    model = ns["build_model"]([0.0] * shape[-1], [1.0] * shape[-1])
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert trainable == count_parameters(build_model(cfg.model, data, seed=0))[0]
    assert isinstance(model, keras.Sequential)


def test_the_keras_script_trains_on_its_own(tmp_path):
    _keras()
    cfg = RunConfig().with_(model={"name": "mlp", "depth": 2, "width": 64, "batch_norm": False}, train={"epochs": 4})
    path = tmp_path / keras_script.script_name(cfg)
    path.write_text(keras_script.keras_script(cfg), encoding="utf-8")
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, cwd=tmp_path, timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("test accuracy") and float(last.split()[-1]) > 0.8
    assert (tmp_path / "model.keras").is_file()


@pytest.mark.parametrize("model", [{"name": "cnn", "depth": 2, "width": 8, "layer_norm": True},
                                   {**MLP, "layer_norm": True, "batch_norm": True}], ids=["cnn", "mlp"])
def test_the_pytorch_script_spells_layer_norm_too(model, tmp_path):
    """Layer norm (GroupNorm(1, C) in the CNN) in the plain script: the same weights as the lab's model."""
    cfg = RunConfig().with_(model=model)
    path = tmp_path / "train.py"
    path.write_text(script.training_script(cfg), encoding="utf-8")
    ns = runpy.run_path(str(path), run_name="not_main")
    data = load_dataset(cfg.data)
    lab = build_model(cfg.model, data, seed=cfg.train.seed)
    torch.manual_seed(cfg.train.seed)
    plain = ns["build_model"](list(data.mean), list(data.std))
    assert {k: v.shape for k, v in plain.state_dict().items()} == {k: v.shape for k, v in lab.state_dict().items()}
    for (k, a), b in zip(plain.state_dict().items(), lab.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=k)
