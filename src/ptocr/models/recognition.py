"""CTC text recognisers: backbone → sequence neck → CTC head, returning N×T×C probabilities."""

from __future__ import annotations

import torch
from torch import nn

from .heads import CTCHead
from .pplcnetv3 import PPLCNetV3
from .registry import register_architecture
from .svtr import SVTREncoder


class CTCRecognizer(nn.Module):
    task = "rec"
    example_input_shape = (1, 3, 48, 64)

    def __init__(self, backbone: nn.Module, neck: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.neck(self.backbone(x)))

    def reparameterize(self) -> None:
        fuse = getattr(self.backbone, "reparameterize", None)
        if fuse is not None:
            fuse()


@register_architecture
def rec_pplcnetv3_svtr_ctc(num_classes: int = 6625, deploy: bool = False) -> CTCRecognizer:
    """PP-OCRv4 mobile recogniser: PP-LCNetV3 ×0.95 + SVTR neck (dims 120, depth 2, kernel 1×3) + CTC.

    Only the CTC branch of PaddleOCR's multi-head model is part of inference.
    """
    backbone = PPLCNetV3(scale=0.95, det=False, deploy=deploy)
    neck = SVTREncoder(backbone.out_channels, dims=120, depth=2, hidden_dims=120, kernel_size=(1, 3))
    return CTCRecognizer(backbone, neck, CTCHead(neck.out_channels, num_classes))
