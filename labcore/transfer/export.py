"""Download formats for any trained image model: a state dict, TorchScript and ONNX, as bytes.

Every model in the lab normalises its own input, so each export takes raw [0, 1] pixels of the training
data's shape (N, C, H, W) and returns logits. ONNX uses torch's TorchScript-based exporter (`dynamo=False`),
which needs no extra packages; checking the file with onnxruntime is the tests' business.
"""

from __future__ import annotations

import io
import warnings

import torch
from torch import nn

from labcore.i18n import LabError

FORMATS = ("state_dict", "torchscript", "onnx")
SUFFIX = {"state_dict": "pt", "torchscript": "torchscript.pt", "onnx": "onnx"}
NAMES = ("image", "logits")  # the ONNX file's input and output names


def _example(input_shape: tuple[int, ...]) -> torch.Tensor:
    return torch.rand(1, *input_shape, generator=torch.Generator().manual_seed(0))


def export_state_dict(model: nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buf)
    return buf.getvalue()


def export_torchscript(model: nn.Module, input_shape: tuple[int, ...]) -> bytes:
    """Traced on one example image (the lab's models have no data-dependent branches)."""
    model = model.cpu().eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks
        traced = torch.jit.trace(model, _example(input_shape))
        buf = io.BytesIO()
        torch.jit.save(traced, buf)  # deprecated in favour of torch.export, still the widest-read format
    return buf.getvalue()


def export_onnx(model: nn.Module, input_shape: tuple[int, ...], names: tuple[str, str] = NAMES) -> bytes:
    """ONNX with a variable batch size: input "image" (N, C, H, W) in [0, 1], output "logits" (N, classes).
    Other pages name them otherwise (`names`: a sequence model's "sequence" of a fixed length, "output")."""
    model = model.cpu().eval()
    buf = io.BytesIO()
    source, target = names
    fastpath = torch.backends.mha.get_fastpath_enabled()
    # Attention's fused inference kernel has no ONNX form: export the same maths written out (MultiheadAttention's
    # slow path, identical outputs); the switch is process-wide, so it is put back at once.
    torch.backends.mha.set_fastpath_enabled(False)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model, (_example(input_shape),), buf, dynamo=False, input_names=[source],
                              output_names=[target], dynamic_axes={source: {0: "batch"}, target: {0: "batch"}},
                              opset_version=17)
        finally:
            torch.backends.mha.set_fastpath_enabled(fastpath)
    return buf.getvalue()


def export(model: nn.Module, fmt: str, input_shape: tuple[int, ...], names: tuple[str, str] = NAMES) -> bytes:
    try:
        if fmt == "state_dict":
            return export_state_dict(model)
        if fmt == "torchscript":
            return export_torchscript(model, input_shape)
        if fmt == "onnx":
            return export_onnx(model, input_shape, names)
    except Exception as e:  # an exporter that cannot handle some layer: say so, don't crash the page
        raise LabError("transfer.export_failed", fmt=fmt, reason=" ".join(str(e).split())[:200]) from e
    raise KeyError(f"unknown export format {fmt!r}; choose one of {FORMATS}")
