"""Output heads: DB probability map, CTC character probabilities, angle-class probabilities."""

from __future__ import annotations

import torch
from torch import nn

from .layers import BN_EPS, ConvBNAct, fold_batchnorm


class DBBranch(nn.Module):
    """3×3 conv → BN+ReLU → 2× transposed conv → BN+ReLU → 2× transposed conv to one channel → sigmoid.

    `folded_bn=True` holds both BNs folded into the conv before them (the 3×3 conv then has a bias), as
    PaddleOCR 3.x's PP-OCRv6 detectors are published; `fold_batchnorms()` folds a built branch.
    """

    def __init__(self, in_channels: int, folded_bn: bool = False) -> None:
        super().__init__()
        mid = in_channels // 4
        self.conv1 = nn.Conv2d(in_channels, mid, 3, padding=1, bias=folded_bn)
        self.conv_bn1: nn.Module = nn.Identity() if folded_bn else nn.BatchNorm2d(mid)
        self.conv2 = nn.ConvTranspose2d(mid, mid, 2, stride=2)
        self.conv_bn2: nn.Module = nn.Identity() if folded_bn else nn.BatchNorm2d(mid)
        self.conv3 = nn.ConvTranspose2d(mid, 1, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_features(x)[0]

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The map and the feature it is computed from (after the second BN+ReLU, at half the map's size)."""
        x = torch.relu(self.conv_bn1(self.conv1(x)))
        features = torch.relu(self.conv_bn2(self.conv2(x)))
        return torch.sigmoid(self.conv3(features)), features

    def fold_batchnorms(self) -> None:
        if isinstance(self.conv_bn1, nn.BatchNorm2d):
            self.conv1 = fold_batchnorm(self.conv1, self.conv_bn1)  # type: ignore[assignment]
            self.conv_bn1 = nn.Identity()
        if isinstance(self.conv_bn2, nn.BatchNorm2d):
            self.conv2 = fold_batchnorm(self.conv2, self.conv_bn2)  # type: ignore[assignment]
            self.conv_bn2 = nn.Identity()


class DBHead(nn.Module):
    """Differentiable-binarisation head. Inference uses only the shrink (probability) map; the
    threshold branch exists for training checkpoints and is built when `with_threshold` is set.
    `folded_bn`: see DBBranch.
    """

    def __init__(
        self, in_channels: int, k: float = 50.0, with_threshold: bool = False, folded_bn: bool = False
    ) -> None:
        super().__init__()
        self.k = k
        self.binarize = DBBranch(in_channels, folded_bn)
        self.thresh = DBBranch(in_channels, folded_bn) if with_threshold else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.binarize(x)


class RepDBHead(DBHead):
    """The DB head of the PP-OCRv6 detectors, whose published (deploy) form has its BNs folded away:
    `deploy=True` builds that form, `reparameterize()` turns the trainable form into it."""

    def __init__(self, in_channels: int, k: float = 50.0, with_threshold: bool = False, deploy: bool = False) -> None:
        super().__init__(in_channels, k, with_threshold, folded_bn=deploy)

    def reparameterize(self) -> None:
        for branch in (self.binarize, self.thresh):
            if branch is not None:
                branch.fold_batchnorms()


class LocalModule(nn.Module):
    """PFHeadLocal's refinement: [coarse map, features] → 3×3 conv+BN+ReLU → 1×1 conv with bias → logits."""

    def __init__(self, in_channels: int, mid_channels: int) -> None:
        super().__init__()
        self.last_3 = ConvBNAct(in_channels + 1, mid_channels, 3, padding=1, act="relu")
        self.last_1 = nn.Conv2d(mid_channels, 1, 1)

    def forward(self, x: torch.Tensor, init_map: torch.Tensor) -> torch.Tensor:
        return self.last_1(self.last_3(torch.cat([init_map, x], dim=1)))


class PFHeadLocal(DBHead):
    """DB head with a local refinement branch (PP-OCRv4 server detector). Returns the refined map.

    The binarize branch gives the shrink map and its last feature (half the map's size); the feature
    is up-sampled 2× (nearest) and refined together with the shrink map into `cbn_maps`. PaddleOCR's
    inference program outputs `cbn_maps` and `maps = 0.5 * (shrink + cbn_maps)`, and its DB
    post-processing reads `cbn_maps`, which is what `forward` returns. `mode` "large" keeps in/4
    channels in the refinement, "small" in/8.
    """

    def __init__(self, in_channels: int, k: float = 50.0, mode: str = "large", with_threshold: bool = False) -> None:
        super().__init__(in_channels, k, with_threshold)
        if mode not in ("large", "small"):
            raise ValueError(f"PFHeadLocal mode must be 'large' or 'small', got {mode!r}")
        self.mode = mode
        # Paddle's nearest 2× up-sampling (align_corners False) reads source index floor(i / 2), as torch does.
        self.up_conv = nn.Upsample(scale_factor=2, mode="nearest")
        self.cbn_layer = LocalModule(in_channels // 4, in_channels // 4 if mode == "large" else in_channels // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shrink_maps, features = self.binarize.forward_with_features(x)
        return torch.sigmoid(self.cbn_layer(self.up_conv(features), shrink_maps))


class CTCHead(nn.Module):
    """Linear projection of each time step to the classes (blank first), softmax over classes.

    With `mid_channels` (PP-OCRv2) the projection is two linear layers, `fc1` then `fc2`, with no
    activation between them, as PaddleOCR builds it.
    """

    def __init__(self, in_channels: int, num_classes: int, mid_channels: int | None = None) -> None:
        super().__init__()
        if mid_channels is None:
            self.fc = nn.Linear(in_channels, num_classes)
        else:
            self.fc1 = nn.Linear(in_channels, mid_channels)
            self.fc2 = nn.Linear(mid_channels, num_classes)
        self.num_classes = num_classes
        self.mid_channels = mid_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.fc(x) if self.mid_channels is None else self.fc2(self.fc1(x))
        return torch.softmax(logits, dim=2)


class GuidedCTCHead(CTCHead):
    """PP-OCRv6 tiny's CTC head: a "guide" over the sequence before the two linear layers (`mid_channels`).

    The guide is PaddleOCR's `ppocrv6_tiny` guide layer: a depthwise conv of width 5 along the sequence and a
    pointwise conv, each without bias and followed by BatchNorm and hard swish, as 1-D convs over N×C×T.
    They stay 1-D (not 1×k 2-D convs) so that trained checkpoints' C×1×5 kernels load by key; the inference
    fold pass, which rewrites 2-D convs, leaves their BatchNorms as they are, as the published export does.
    """

    def __init__(self, in_channels: int, num_classes: int, mid_channels: int, guide_kernel: int = 5) -> None:
        super().__init__(in_channels, num_classes, mid_channels)
        self.guide_layer = nn.Sequential(
            nn.Conv1d(in_channels, in_channels, guide_kernel, padding=guide_kernel // 2, groups=in_channels,
                      bias=False),
            nn.BatchNorm1d(in_channels, eps=BN_EPS),
            nn.Hardswish(),
            nn.Conv1d(in_channels, in_channels, 1, bias=False),
            nn.BatchNorm1d(in_channels, eps=BN_EPS),
            nn.Hardswish(),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.guide_layer(x.transpose(1, 2)).transpose(1, 2))


class ClsHead(nn.Module):
    """Global average pool → linear → softmax."""

    def __init__(self, in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.fc(torch.flatten(self.pool(x), 1)), dim=1)
