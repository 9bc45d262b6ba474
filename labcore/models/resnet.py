"""A small ResNet for 8x8 to 64x64 images: a stem and three stages of basic residual blocks.

torchvision's BasicBlock reuses one in-place ReLU twice; captum/SHAP need one module per use,
so the block is written out here (it is ten lines).
"""

from __future__ import annotations

from torch import Tensor, nn

from labcore.models.layers import activation
from labcore.seeding import Dropout


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, act: str):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.act1 = activation(act)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.act2 = activation(act)

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        return self.act2(out + self.shortcut(x))


def resnet(*, input_shape: tuple[int, ...], num_classes: int, depth: int = 1, width: int = 16,
           act: str = "relu", dropout: float = 0.0) -> nn.Sequential:
    channels, size = input_shape[0], input_shape[-1]
    layers: list[nn.Module] = [
        nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), activation(act)
    ]
    cin = width
    for stage in range(3):
        cout = width * 2**stage
        for block in range(depth):
            # Downsample at the start of stages 2 and 3 while the map is still bigger than 2x2.
            stride = 2 if stage > 0 and block == 0 and size > 2 else 1
            size //= stride
            layers.append(BasicBlock(cin, cout, stride, act))
            cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if dropout:
        layers.append(Dropout(dropout))
    layers.append(nn.Linear(cin, num_classes))
    return nn.Sequential(*layers)
