"""DB text detectors: backbone → FPN neck → DB head, returning the N×1×H×W probability map."""

from __future__ import annotations

import torch
from torch import nn

from .heads import DBHead
from .necks import RSEFPN
from .pplcnetv3 import PPLCNetV3
from .registry import register_architecture


class DBNet(nn.Module):
    task = "det"
    #: Smallest input whose every pyramid level is at least one pixel: used to trace the layer order.
    example_input_shape = (1, 3, 64, 64)

    def __init__(self, backbone: nn.Module, neck: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.neck(self.backbone(x)))

    def reparameterize(self) -> None:
        """Fuses re-parameterisable branches into the deploy form (no-op for plain backbones)."""
        fuse = getattr(self.backbone, "reparameterize", None)
        if fuse is not None:
            fuse()


@register_architecture
def det_pplcnetv3_rsefpn_db(deploy: bool = False, with_threshold: bool = False) -> DBNet:
    """PP-OCRv4 mobile detector: PP-LCNetV3 ×0.75 + RSEFPN(96, shortcut) + DBHead(k=50)."""
    backbone = PPLCNetV3(scale=0.75, det=True, deploy=deploy)
    neck = RSEFPN(backbone.out_channels, 96, shortcut=True)
    return DBNet(backbone, neck, DBHead(neck.out_channels, k=50, with_threshold=with_threshold))
