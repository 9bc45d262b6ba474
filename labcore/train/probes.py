"""Looking inside sequence models: how much the loss still feels each time step, and what LSTM gates do.

`gradient_over_time` is the vanishing-gradient picture: the norm of dLoss/dx_t for every input step t.
In a plain RNN it shrinks geometrically with the distance from the end of the sequence, so an early
token cannot steer learning; an LSTM's cell path keeps it alive. `lstm_gates` replays an `nn.LSTM`'s
first layer step by step with its own weights (PyTorch does not expose the gates) and returns them.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labcore.models.sequence import Recurrent


def gradient_over_time(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, regression: bool = False) -> np.ndarray:
    """Mean over the batch of ||dLoss/dx_t|| for each step t of (N, C, T) inputs: an array of T values.

    The weights' gradients are left untouched (autograd.grad w.r.t. the input only), so it is safe to
    call between training steps.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x = x.detach().clone().requires_grad_(True)
            out = model(x)
            loss = F.mse_loss(out, y) if regression else F.cross_entropy(out, y)
            (grad,) = torch.autograd.grad(loss, x)
    finally:
        model.train(was_training)
    return grad.norm(dim=1).mean(0).cpu().numpy()  # (T,)


def decay_ratio(curve: np.ndarray, span: int = 3) -> float:
    """How much weaker the gradient is at the start of the sequence than at its end (mean of `span` steps)."""
    start, end = float(np.mean(curve[:span])), float(np.mean(curve[-span:]))
    return start / max(end, 1e-30)


def find_recurrent(model: nn.Module) -> Recurrent | None:
    return next((m for m in model.modules() if isinstance(m, Recurrent)), None)


GATES = ("input", "forget", "cell", "output")


@torch.no_grad()
def lstm_gates(model: nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Gate activations of the first LSTM layer (forward direction) for one example x (C, T).

    Returns {"input", "forget", "cell" (the candidate g), "output", "c" (cell state), "h"}: each (T, H).
    Computed from the layer's weights with PyTorch's gate order (i, f, g, o), which the tests check
    against nn.LSTM's own output.
    """
    rec = find_recurrent(model)
    if rec is None or rec.cell != "lstm":
        raise ValueError("lstm_gates needs a model with an LSTM layer")
    lstm: nn.LSTM = rec.rnn
    # The input as the LSTM sees it: through everything before it (the Standardize layer).
    seq = model.normalize(x[None].to(lstm.weight_ih_l0.device))[0].T  # (T, C)
    w_ih, w_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
    b = lstm.bias_ih_l0 + lstm.bias_hh_l0
    hidden = lstm.hidden_size
    h = torch.zeros(hidden, device=seq.device)
    c = torch.zeros(hidden, device=seq.device)
    rows: dict[str, list[torch.Tensor]] = {k: [] for k in (*GATES, "c", "h")}
    for x_t in seq:
        z = w_ih @ x_t + w_hh @ h + b
        i, f, g, o = z.split(hidden)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        for name, value in zip((*GATES, "c", "h"), (i, f, g, o, c, h), strict=True):
            rows[name].append(value)
    return {k: torch.stack(v).cpu().numpy() for k, v in rows.items()}
