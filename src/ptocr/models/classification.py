"""Text-angle classifiers: backbone → pooled linear head, returning N×classes probabilities."""

from __future__ import annotations

import torch
from torch import nn

from .heads import ClsHead
from .mobilenetv3 import MobileNetV3, small_config
from .registry import register_architecture


class AngleClassifier(nn.Module):
    task = "cls"
    example_input_shape = (1, 3, 48, 192)

    def __init__(self, backbone: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def reparameterize(self) -> None:
        """Nothing to fuse: kept so every task model has the same interface."""


@register_architecture
def cls_mobilenetv3_small_x035(num_classes: int = 2, deploy: bool = False) -> AngleClassifier:
    """PaddleOCR v2.0 mobile angle classifier: MobileNetV3-small ×0.35 + ClsHead."""
    del deploy  # no re-parameterisable layers
    backbone = MobileNetV3(small_config(), last_channels=576, scale=0.35)
    return AngleClassifier(backbone, ClsHead(backbone.out_channels, num_classes))
