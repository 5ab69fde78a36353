"""Output heads: DB probability map, CTC character probabilities, angle-class probabilities."""

from __future__ import annotations

import torch
from torch import nn


class DBBranch(nn.Module):
    """3×3 conv → BN+ReLU → 2× transposed conv → BN+ReLU → 2× transposed conv to one channel → sigmoid."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        mid = in_channels // 4
        self.conv1 = nn.Conv2d(in_channels, mid, 3, padding=1, bias=False)
        self.conv_bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.ConvTranspose2d(mid, mid, 2, stride=2)
        self.conv_bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.ConvTranspose2d(mid, 1, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv_bn1(self.conv1(x)))
        x = torch.relu(self.conv_bn2(self.conv2(x)))
        return torch.sigmoid(self.conv3(x))


class DBHead(nn.Module):
    """Differentiable-binarisation head. Inference uses only the shrink (probability) map; the
    threshold branch exists for training checkpoints and is built when `with_threshold` is set.
    """

    def __init__(self, in_channels: int, k: float = 50.0, with_threshold: bool = False) -> None:
        super().__init__()
        self.k = k
        self.binarize = DBBranch(in_channels)
        self.thresh = DBBranch(in_channels) if with_threshold else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.binarize(x)


class CTCHead(nn.Module):
    """Linear projection of each time step to the classes (blank first), softmax over classes."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.fc(x), dim=2)


class ClsHead(nn.Module):
    """Global average pool → linear → softmax."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.fc(torch.flatten(self.pool(x), 1)), dim=1)
