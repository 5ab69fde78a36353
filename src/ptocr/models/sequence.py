"""Sequence necks of the CRNN-style recognisers: feature map → sequence (`Im2Seq`) → bidirectional LSTM.

Attribute names follow PaddleOCR's `SequenceEncoder` (`encoder_reshape`, `encoder.lstm`), so trained
checkpoints line up key for key. torch's `nn.LSTM` computes what Paddle's `rnn` op (mode LSTM) does:
same gate order (input, forget, cell, output), both biases added, zero initial states.
"""

from __future__ import annotations

import torch
from torch import nn


class Im2Seq(nn.Module):
    """N×C×1×W feature map → N×W×C sequence (one time step per column)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[2] != 1:
            raise ValueError(f"the recognition feature map must have height 1, got {x.shape[2]}")
        return x.squeeze(2).transpose(1, 2)


class EncoderWithRNN(nn.Module):
    """Stacked bidirectional LSTM over N×T×C; output N×T×2·hidden."""

    def __init__(self, in_channels: int, hidden_size: int, num_layers: int = 2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_channels, hidden_size, num_layers=num_layers, batch_first=True, bidirectional=True)
        self.out_channels = 2 * hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x)[0]


class SequenceEncoder(nn.Module):
    """PaddleOCR's `SequenceEncoder` with `encoder_type="rnn"`: `Im2Seq` then the BiLSTM."""

    def __init__(self, in_channels: int, hidden_size: int, num_layers: int = 2) -> None:
        super().__init__()
        self.encoder_reshape = Im2Seq()
        self.encoder = EncoderWithRNN(in_channels, hidden_size, num_layers)
        self.out_channels = self.encoder.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(self.encoder_reshape(x))
