"""Exports reload and give the same outputs: state dict, TorchScript, and ONNX checked with onnxruntime."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from labcore.transfer.backbones import build_transfer_net
from labcore.transfer.export import FORMATS, export

ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def model():
    net = build_transfer_net("lab_digits", in_channels=1, num_classes=5, seed=3).eval()
    with torch.no_grad():  # non-trivial batch-norm statistics, as after training
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return net


def test_every_format_reloads_with_the_same_outputs(model):
    shape = (1, 16, 16)
    x = torch.rand(4, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = model(x)
    files = {fmt: export(model, fmt, shape) for fmt in FORMATS}

    fresh = build_transfer_net("lab_digits", in_channels=1, num_classes=5, seed=99).eval()
    fresh.load_state_dict(torch.load(io.BytesIO(files["state_dict"]), weights_only=True))
    torch.testing.assert_close(fresh(x), expected)

    scripted = torch.jit.load(io.BytesIO(files["torchscript"]))
    torch.testing.assert_close(scripted(x), expected)

    session = ort.InferenceSession(files["onnx"], providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"image": x.numpy()})  # a batch of 4 through a model traced on 1
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-4, atol=1e-5)


def test_a_train_page_model_exports_too():
    from labcore.config import RunConfig
    from labcore.data import load_dataset
    from labcore.models import build_model

    cfg = RunConfig()
    data = load_dataset(cfg.data)
    net = build_model(cfg.model, data, seed=0).eval()
    x = data.x_test[:3]
    session = ort.InferenceSession(export(net, "onnx", data.input_shape), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"image": x.numpy()})[0], net(x).detach().numpy(), atol=1e-5)
