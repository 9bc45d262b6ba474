"""Sequence models on channels-first input (N, C, T): RNN, GRU, LSTM, 1-D CNN and a Transformer encoder.

Each is an `nn.Sequential` whose last layer outputs `num_classes` values (class logits, or the
forecast horizon for regression), so the Trainer, the layer summary and the probes treat them alike.
The Transformer blocks are written out (pre-norm, around `nn.MultiheadAttention`) so their attention
weights can be read: set `keep_attention` on a block and it stores the last weights per head.
"""

from __future__ import annotations

import torch
from torch import nn

from labcore.models.layers import activation
from labcore.seeding import Dropout

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
GATE_BIAS = 3.0  # initial bias of the gate that keeps memory: LSTM forget gate, GRU update gate (2nd block)


class Recurrent(nn.Module):
    """(N, C, T) -> (N, D*H): the last hidden state (both directions' final states when bidirectional)."""

    def __init__(self, cell: str, channels: int, hidden: int, layers: int, bidirectional: bool):
        super().__init__()
        self.cell, self.hidden, self.bidirectional = cell, hidden, bidirectional
        kwargs = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = CELLS[cell](channels, hidden, num_layers=layers, batch_first=True,
                               bidirectional=bidirectional, **kwargs)
        if cell in ("lstm", "gru"):
            # Start out remembering: the LSTM's forget gate (GRU: update gate) at sigmoid(3) = 0.95 keeps 95%
            # of the memory per step, so the gradient reaches early steps from the first batch on (PyTorch's
            # bias 0 halves it every step). The larger cousin of Jozefowicz et al.'s (2015) forget bias 1.
            for name, p in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    with torch.no_grad():
                        p[hidden : 2 * hidden].fill_(GATE_BIAS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.transpose(1, 2))  # (N, T, D*H)
        if not self.bidirectional:
            return out[:, -1]
        # The backward direction has read the whole sequence when it reaches t = 0.
        return torch.cat([out[:, -1, : self.hidden], out[:, 0, self.hidden :]], dim=1)


def recurrent(cell: str):
    def build(*, input_shape: tuple[int, ...], num_classes: int, depth: int = 1, width: int = 32,
              act: str = "tanh", bidirectional: bool = False, dropout: float = 0.0) -> nn.Sequential:
        channels = input_shape[0]
        features = width * (2 if bidirectional else 1)
        layers: list[nn.Module] = [Recurrent(cell, channels, width, depth, bidirectional),
                                   nn.Linear(features, width), activation(act)]
        if dropout:
            layers.append(Dropout(dropout))
        layers.append(nn.Linear(width, num_classes))
        return nn.Sequential(*layers)

    build.__name__ = cell
    return build


def conv1d(*, input_shape: tuple[int, ...], num_classes: int, depth: int = 2, width: int = 32,
           act: str = "relu", kernel_size: int = 3, dropout: float = 0.0) -> nn.Sequential:
    """Convolutions along time, halving the length after each block; the head sees every position."""
    channels, length = input_shape
    layers: list[nn.Module] = []
    for i in range(depth):
        out = width * 2**i
        layers += [nn.Conv1d(channels, out, kernel_size, padding=kernel_size // 2), activation(act)]
        if length >= 4:
            layers.append(nn.MaxPool1d(2))
            length //= 2
        channels = out
    layers.append(nn.Flatten())  # keeps positions apart: a forecast needs to know which value was last
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(nn.Linear(channels * length, num_classes))
    return nn.Sequential(*layers)


POSITIONS = ("learned", "sinusoidal", "none")  # how a Transformer knows where a token stands


def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    """(length, dim) fixed encoding of "Attention is all you need": PE[p, 2i] = sin(p / 10000^(2i/dim)),
    PE[p, 2i+1] = cos(p / 10000^(2i/dim)); every position gets its own pattern of fast and slow waves."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    rate = torch.pow(10000.0, -torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    pe = torch.zeros(length, dim)
    pe[:, 0::2] = torch.sin(pos * rate)
    pe[:, 1::2] = torch.cos(pos * rate[: dim // 2])
    return pe


class TokenEmbedding(nn.Module):
    """(N, C, T) -> (N, 1 + T, D): a linear map of each step, a [CLS] token in front, plus position vectors:
    learned (the default), the fixed sinusoidal ones, or none (then the model sees a bag of words)."""

    def __init__(self, channels: int, length: int, dim: int, positions: str = "learned"):
        super().__init__()
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, not {positions!r}")
        self.positions = positions
        self.proj = nn.Linear(channels, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        if positions == "learned":
            self.pos = nn.Parameter(torch.randn(1, length + 1, dim) * 0.02)
        else:  # a fixed buffer, so `pos` reads the same whichever kind the model uses
            fixed = sinusoidal_positions(length + 1, dim) if positions == "sinusoidal" else torch.zeros(length + 1, dim)
            self.register_buffer("pos", fixed[None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.proj(x.transpose(1, 2))
        return torch.cat([self.cls.expand(h.shape[0], -1, -1), h], dim=1) + self.pos


class EncoderBlock(nn.Module):
    """Pre-norm Transformer encoder block: x + attention(norm(x)), then x + MLP(norm(x))."""

    def __init__(self, dim: int, heads: int, act: str = "gelu", dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), activation(act), nn.Linear(2 * dim, dim))
        self.keep_attention = False
        self.attention: torch.Tensor | None = None  # (N, heads, T, T) of the last forward, when kept

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        out, weights = self.attn(h, h, h, need_weights=self.keep_attention, average_attn_weights=False)
        if self.keep_attention:
            self.attention = weights.detach()
        x = x + out
        return x + self.mlp(self.norm2(x))


class ClsPool(nn.Module):
    """The final representation of the [CLS] token (position 0), layer-normalised."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x[:, 0])


class FromLastValue(nn.Module):
    """Forecast = the last value seen + what the network makes of the window relative to that value.

    The network starts out as the naive "last value" forecast plus a small correction, and it never has to
    produce levels it has not seen in training: on trending series (CO2) a plain LSTM, whose tanh cannot
    extrapolate, would otherwise forecast far below the test values.
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = x[:, :1, -1]  # (N, 1): the newest value of the (first) channel
        return last + self.net(x - last[..., None])


def _heads_for(width: int, heads: int) -> int:
    heads = max(1, heads)
    while width % heads:  # MultiheadAttention needs width divisible by the head count
        heads -= 1
    return heads


def transformer(*, input_shape: tuple[int, ...], num_classes: int, depth: int = 2, width: int = 32,
                act: str = "gelu", heads: int = 2, dropout: float = 0.0, positions: str = "learned") -> nn.Sequential:
    channels, length = input_shape
    heads = _heads_for(width, heads)
    blocks = [EncoderBlock(width, heads, act, dropout) for _ in range(depth)]
    return nn.Sequential(TokenEmbedding(channels, length, width, positions), *blocks, ClsPool(width),
                         nn.Linear(width, num_classes))


rnn, gru, lstm = recurrent("rnn"), recurrent("gru"), recurrent("lstm")
