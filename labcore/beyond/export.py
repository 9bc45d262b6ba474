"""Save the Beyond classification page's trained segmenter or detector: one zip (labcore.serve.bundle) with the
state dict, TorchScript, ONNX and metadata.json, each file reloaded and checked against the live net.

The detector answers with two tensors (class scores, box); TorchScript and ONNX files here return one,
`Detections`: the class logits and the box side by side, (N, classes + 4), as metadata.json says."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from typing import Any

import torch
from torch import nn

from labcore.beyond.data import SIZE
from labcore.beyond.train import BeyondConfig, Outcome, _model
from labcore.data.shapes import SHAPE_NAMES
from labcore.serve.bundle import CHECK_ROWS, Bundle, assemble, versions


class Detections(nn.Module):
    """TinyDetector as one output: [class logits (classes), box (x0, y0, x1, y1) as fractions of the image]."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits, box = self.detector(x)
        return torch.cat([logits, box], 1)


def _fresh(cfg: BeyondConfig, state: dict, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    net = _model(cfg)
    net.load_state_dict({k: v.detach().cpu() for k, v in state.items()})
    return net.eval()


def beyond_bundle(cfg: BeyondConfig, outcome: Outcome, *, now: _dt.datetime | None = None) -> Bundle:
    """The trained net of a finished Beyond job: raw pixels (N, 3, 32, 32) in [0, 1] in; per-pixel mask logits
    (segmenter) or class logits and a box (detector) out."""
    if outcome.model is None:
        raise ValueError("this run kept no model")
    segment = cfg.task == "segment"
    net = _fresh(cfg, outcome.model.state_dict(), cfg.seed)  # a CPU copy in eval mode: the job's own net stays

    def wrap(m: nn.Module) -> nn.Module:
        return m if segment else Detections(m).eval()

    def reload(state: dict) -> nn.Module:
        return wrap(_fresh(cfg, state, cfg.seed + 1))

    last = outcome.last
    now = now or _dt.datetime.now(_dt.UTC)
    k = len(SHAPE_NAMES)
    output = ("mask logits (N, 1, 32, 32): a pixel belongs to the shape where its logit is above 0" if segment else
              f"(N, {k + 4}): columns 0-{k - 1} the class logits ({', '.join(SHAPE_NAMES)}), columns {k}-{k + 3} the box "
              f"x0, y0, x1, y1 as fractions of the image (times {SIZE} for pixels)")
    metrics: dict[str, Any] = {"test_loss": float(last.test_loss), "epochs": int(outcome.epochs),
                               "test_rows": len(outcome.iou)}
    metrics |= ({"mask_iou": float(last.iou), "dice": float(last.dice)} if segment else
                {"box_iou": float(last.iou), "accuracy": float(last.accuracy), "hits_iou_0.5": float(last.hits)})
    meta: dict[str, Any] = {
        "format_version": 1, "created": now.isoformat(timespec="seconds"), "seed": cfg.seed,
        "config": dataclasses.asdict(cfg),
        "dataset": {"name": "shapes", "kind": "image", "classes": list(SHAPE_NAMES), "input_shape": [3, SIZE, SIZE],
                    "input": "raw pixels in [0, 1], one shape per image"},
        "model": {"net": "TinyUNet" if segment else "TinyDetector", "output": output,
                  "state_dict": ("labcore.beyond.models.TinyUNet(width, 1, skips)" if segment else
                                 f"labcore.beyond.models.TinyDetector(width, {k}, {SIZE}); its forward returns "
                                 "(logits, box) as two tensors")},
        "test_metrics": metrics, "versions": versions(),
    }
    x = outcome.test.x[:CHECK_ROWS].float()
    names = ("image", "mask_logits") if segment else ("image", "detections")
    return assemble(wrap(net), x, meta, (3, SIZE, SIZE), reload=reload, weights=net, names=names)
