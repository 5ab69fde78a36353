"""What every task model (detector, recogniser, angle classifier) shares: the backbone → [neck] → head chain,
re-parameterisation of the backbone, and the memory format it runs in."""

from __future__ import annotations

import torch
from torch import nn


class TaskModel(nn.Module):
    """`head(neck(backbone(x)))`; a model without a neck passes `nn.Identity()`.

    `memory_format` is the layout inputs are put in before the backbone: `torch.contiguous_format` (NCHW) as
    built; `fuse_for_inference` switches a model to channels-last, where oneDNN's convolutions run fastest.
    """

    task: str
    #: Smallest input whose every feature level is at least one pixel: used to trace the layer order.
    example_input_shape: tuple[int, int, int, int]
    memory_format: torch.memory_format = torch.contiguous_format

    def __init__(self, backbone: nn.Module, neck: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.neck(self.backbone(x.contiguous(memory_format=self.memory_format))))

    def reparameterize(self) -> None:
        """Fuses re-parameterisable branches into the deploy form: those parts (backbone, neck, head) that
        define `reparameterize` do so (no-op for plain networks)."""
        for part in (self.backbone, self.neck, self.head):
            fuse = getattr(part, "reparameterize", None)
            if fuse is not None:
                fuse()
