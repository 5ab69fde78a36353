"""SVTR transformer blocks and the SVTR sequence encoder used as PP-OCRv3/v4 recognition neck."""

from __future__ import annotations

import torch
from torch import nn

from .layers import ConvBNAct


class Attention(nn.Module):
    """Global multi-head self-attention over the sequence (N, L, C)."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, channels = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = torch.softmax(q @ k.transpose(-2, -1), dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(n, length, channels)
        return self.proj(out)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.SiLU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Post-norm-free transformer block: `x + attn(norm1(x))`, then `x + mlp(norm2(x))`."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.mixer = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.mixer(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SVTREncoder(nn.Module):
    """Conv reduction → SVTR blocks → conv expansion, fused with the input ("guide") → sequence.

    Input N×C×1×W from the backbone; output N×W×dims.
    """

    def __init__(
        self,
        in_channels: int,
        dims: int = 64,
        depth: int = 2,
        hidden_dims: int = 120,
        num_heads: int = 8,
        mlp_ratio: float = 2.0,
        kernel_size: tuple[int, int] = (3, 3),
    ) -> None:
        super().__init__()
        padding = (kernel_size[0] // 2, kernel_size[1] // 2)
        self.conv1 = ConvBNAct(in_channels, in_channels // 8, kernel_size, padding=padding, act="swish")
        self.conv2 = ConvBNAct(in_channels // 8, hidden_dims, 1, padding=0, act="swish")
        self.svtr_block = nn.ModuleList(Block(hidden_dims, num_heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(hidden_dims, eps=1e-6)
        self.conv3 = ConvBNAct(hidden_dims, in_channels, 1, padding=0, act="swish")
        self.conv4 = ConvBNAct(2 * in_channels, in_channels // 8, kernel_size, padding=padding, act="swish")
        self.conv1x1 = ConvBNAct(in_channels // 8, dims, 1, padding=0, act="swish")
        self.out_channels = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.conv2(self.conv1(x))
        n, channels, height, width = z.shape
        z = z.flatten(2).transpose(1, 2)
        for block in self.svtr_block:
            z = block(z)
        z = self.norm(z)
        z = z.reshape(n, height, width, channels).permute(0, 3, 1, 2)
        z = self.conv3(z)
        z = self.conv1x1(self.conv4(torch.cat((x, z), dim=1)))
        if z.shape[2] != 1:
            raise ValueError(f"the recognition feature map must have height 1, got {z.shape[2]}")
        return z.squeeze(2).transpose(1, 2)
