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


# Paddle's fluid `lstm` op lays its 4·hidden gate columns out as (candidate, input, forget, output); torch's
# LSTM rows as (input, forget, candidate, output): torch's gate k is fluid's block _FLUID_GATE_OF[k].
_FLUID_GATE_OF = (1, 2, 0, 3)


class FluidLSTM(nn.Module):
    """PaddleOCR 1.x's projected LSTM: an FC to 4·hidden (fluid's `mul` + `elementwise_add`), then fluid's
    `lstm` op (`dynamic_lstm`: no peepholes, sigmoid gates, tanh cell and candidate, zero initial state).

    The tensors keep fluid's layout and are registered in the order the program reads them: the projection's
    `input_weight` (in × 4·hidden) and `input_bias` (4·hidden), then the op's `bias` (1 × 4·hidden) and
    `weight` (hidden × 4·hidden). One `torch.lstm` call computes it all, the projection as its input weights.
    `reverse` runs the sequence from its end (`is_reverse`).
    """

    def __init__(self, in_channels: int, hidden_size: int, reverse: bool = False) -> None:
        super().__init__()
        self.input_weight = nn.Parameter(torch.zeros(in_channels, 4 * hidden_size))
        self.input_bias = nn.Parameter(torch.zeros(4 * hidden_size))
        self.bias = nn.Parameter(torch.zeros(1, 4 * hidden_size))
        self.weight = nn.Parameter(torch.zeros(hidden_size, 4 * hidden_size))
        self.hidden_size = hidden_size
        self.reverse = reverse
        #: Set by `ptocr.models.quantisation.quantise_layers` for a quantised program's projection.
        self.input_quantiser: nn.Module | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.hidden_size
        order = torch.cat([torch.arange(g * hidden, (g + 1) * hidden) for g in _FLUID_GATE_OF]).to(x.device)
        if self.input_quantiser is None:
            bias = (self.input_bias + self.bias.reshape(-1))[order]
            params = [self.input_weight.t()[order], self.weight.t()[order], bias, torch.zeros_like(bias)]
        else:  # the projection rounds its input: it runs on its own, and the LSTM reads its output as is
            quantiser = self.input_quantiser
            x = quantiser.dequantise(quantiser.quantise(x) @ self.input_weight) + self.input_bias
            bias = self.bias.reshape(-1)[order]
            identity = torch.eye(4 * hidden, dtype=x.dtype, device=x.device)[order]
            params = [identity, self.weight.t()[order], bias, torch.zeros_like(bias)]
        state = x.new_zeros(1, x.shape[0], hidden)
        inputs = x.flip(1) if self.reverse else x
        output = torch.lstm(inputs, (state, state), params, True, 1, 0.0, False, False, True)[0]
        return output.flip(1) if self.reverse else output


class FluidLSTMStack(nn.Module):
    """Two projected fluid LSTMs in one direction."""

    def __init__(self, in_channels: int, hidden_size: int, reverse: bool) -> None:
        super().__init__()
        self.lstm1 = FluidLSTM(in_channels, hidden_size, reverse)
        self.lstm2 = FluidLSTM(hidden_size, hidden_size, reverse)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm2(self.lstm1(x))


class FluidCRNNEncoder(nn.Module):
    """PaddleOCR 1.x's CRNN sequence encoder: `Im2Seq`, then a forward and a reversed two-layer LSTM stack,
    independent of each other (not a bidirectional LSTM: the second layer of each sees only its own
    direction), concatenated; output N×T×2·hidden."""

    def __init__(self, in_channels: int, hidden_size: int) -> None:
        super().__init__()
        self.encoder_reshape = Im2Seq()
        self.forward_stack = FluidLSTMStack(in_channels, hidden_size, reverse=False)
        self.reverse_stack = FluidLSTMStack(in_channels, hidden_size, reverse=True)
        self.out_channels = 2 * hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sequence = self.encoder_reshape(x)
        return torch.cat([self.forward_stack(sequence), self.reverse_stack(sequence)], dim=2)
