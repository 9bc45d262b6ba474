"""Plain CNN: `depth` blocks of conv -> [batch norm or layer norm] -> activation -> pool, channels doubling."""

from __future__ import annotations

from torch import nn

from labcore.models.layers import activation
from labcore.seeding import Dropout


def cnn(*, input_shape: tuple[int, ...], num_classes: int, depth: int = 2, width: int = 32,
        act: str = "relu", batch_norm: bool = True, dropout: float = 0.0, kernel_size: int = 3,
        pooling: str = "max", layer_norm: bool = False) -> nn.Sequential:
    channels, size = input_shape[0], input_shape[-1]
    layers: list[nn.Module] = []
    for i in range(depth):
        out = width * 2**i
        # Batch norm's per-channel shift makes the bias redundant; one norm over all channels does not (a per-channel
        # offset survives it), so the layer-norm net keeps its biases.
        plain_bias = layer_norm or not batch_norm
        layers.append(nn.Conv2d(channels, out, kernel_size, padding=kernel_size // 2, bias=plain_bias))
        if layer_norm:
            # Layer norm for feature maps: one group holding every channel normalises each example over all of
            # its channels and positions together (nn.LayerNorm would need the map's H x W fixed in advance),
            # with a learnt scale and shift per channel as batch norm has. No batch statistics at all.
            layers.append(nn.GroupNorm(1, out))
        elif batch_norm:
            layers.append(nn.BatchNorm2d(out))
        layers.append(activation(act))
        if size >= 2 and pooling != "none":  # stop halving once the map is 1x1
            layers.append(nn.MaxPool2d(2) if pooling == "max" else nn.AvgPool2d(2))
            size //= 2
        channels = out
    # Global average pooling keeps the head small whatever the image size.
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(nn.Linear(channels, num_classes))
    return nn.Sequential(*layers)
