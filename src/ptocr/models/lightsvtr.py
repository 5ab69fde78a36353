"""LightSVTR: the PP-OCRv6 small/medium recognition neck (PaddleOCR's `EncoderWithLightSVTR`).

Where the PP-OCRv3/v4 SVTR neck concatenates its input with the transformer's output and fuses them with
two more convs, LightSVTR adds a 1×1 projection of its input (`skip_conv`) to the transformer's output.
Before the transformer, a depthwise 1×k conv over the width gives each column its neighbours (`local_conv`,
residual). Nothing in it is re-parameterised for inference: the published exports keep every layer, the
1×k conv's BatchNorm included, so one form serves training checkpoints and inference files.

Attribute names are PaddleOCR's, so trained checkpoints line up key for key (after the `convbn-norm` rule).
The input is the backbone's N×C×1×W map; the output is the N×W×dims sequence.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import BN_EPS, ConvBNAct
from .sequence import Im2Seq
from .svtr import Block

#: PaddleOCR's SVTR blocks normalise with 1e-5, the neck's closing LayerNorm with 1e-6.
BLOCK_NORM_EPS = 1e-5
CLOSING_NORM_EPS = 1e-6


class LightSVTREncoder(nn.Module):
    """1×1 reduction to `dims` (+ swish), a residual depthwise 1×`local_kernel` conv (+ BN + swish), `depth`
    global-attention SVTR blocks and a LayerNorm, plus a 1×1 projection of the input (+ swish) → sequence."""

    def __init__(
        self,
        in_channels: int,
        dims: int,
        depth: int,
        mlp_ratio: float,
        num_heads: int = 8,
        local_kernel: int = 7,
    ) -> None:
        super().__init__()
        if dims % num_heads:
            raise ValueError(f"LightSVTR dims {dims} must be a multiple of its {num_heads} attention heads")
        self.conv_reduce = ConvBNAct(in_channels, dims, 1, padding=0, act="swish")
        self.local_conv = nn.Sequential(
            nn.Conv2d(dims, dims, (1, local_kernel), padding=(0, local_kernel // 2), groups=dims, bias=False),
            nn.BatchNorm2d(dims, eps=BN_EPS),
            nn.SiLU(),
        )
        self.svtr_block = nn.ModuleList(Block(dims, num_heads, mlp_ratio, eps=BLOCK_NORM_EPS) for _ in range(depth))
        self.norm = nn.LayerNorm(dims, eps=CLOSING_NORM_EPS)
        self.skip_conv = ConvBNAct(in_channels, dims, 1, padding=0, act="swish")
        self.encoder_reshape = Im2Seq()
        self.out_channels = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The skip runs first, as in PaddleOCR's forward: the exported programs consume its weights first.
        skip = self.skip_conv(x)
        z = self.conv_reduce(x)
        z = z + self.local_conv(z)
        n, channels, height, width = z.shape
        z = z.flatten(2).transpose(1, 2)
        for block in self.svtr_block:
            z = block(z)
        z = self.norm(z)
        z = z.reshape(n, height, width, channels).permute(0, 3, 1, 2)
        return self.encoder_reshape(z + skip)
