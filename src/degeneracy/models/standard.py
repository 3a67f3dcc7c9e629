"""The standard discrete vanilla RNN."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


class StandardRNN(nn.Module):
    """h_t = tanh(W_h h_{t-1} + W_x x_t + b), y_t = W_out h_t + b_out, h_0 = 0.

    Uses the fused ``nn.RNN`` kernel; PyTorch's default init U(+-1/sqrt(n)).
    ``recurrent_matrix()`` is W_h (n x n). :func:`degeneracy.models.build_model` redraws W_h with
    :meth:`reset_recurrent` from a generator of its own (``nn.RNN`` draws W_x, whose shape depends
    on the number of inputs, before W_h).
    """

    kind = "standard"

    def __init__(self, n_inputs: int, n_outputs: int, n_units: int = 128) -> None:
        super().__init__()
        self.n_units = n_units
        self.rnn = nn.RNN(n_inputs, n_units, nonlinearity="tanh", batch_first=True)
        self.readout = nn.Linear(n_units, n_outputs)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (batch, time, in) -> (outputs (batch, time, out), hidden states (batch, time, n))."""
        h, _ = self.rnn(x)
        return self.readout(h), h

    @staticmethod
    def draw_recurrent(n_units: int, generator: torch.Generator) -> torch.Tensor:
        """An initial W_h (n x n) from ``generator``: U(+-1/sqrt(n)), PyTorch's ``nn.RNN`` law."""
        bound = 1.0 / n_units**0.5
        return torch.empty(n_units, n_units).uniform_(-bound, bound, generator=generator)

    @torch.no_grad()
    def reset_recurrent(self, generator: torch.Generator) -> None:
        """Redraw W_h from ``generator`` (:meth:`draw_recurrent`); the other weights are kept."""
        self.rnn.weight_hh_l0.copy_(self.draw_recurrent(self.n_units, generator))

    def recurrent_parameter(self) -> nn.Parameter:
        """The trained recurrent parameter (W_h)."""
        return self.rnn.weight_hh_l0

    def recurrent_matrix(self) -> torch.Tensor:
        """Effective recurrent matrix compared by the weight metric: W_h (n x n)."""
        return self.rnn.weight_hh_l0

    def forward_loop(self, x: torch.Tensor, W_h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Reference step-by-step forward (plain autograd, torch.func friendly); optional W_h override."""
        W_h = self.rnn.weight_hh_l0 if W_h is None else W_h
        drive = x @ self.rnn.weight_ih_l0.T + self.rnn.bias_ih_l0 + self.rnn.bias_hh_l0
        h = x.new_zeros(x.shape[0], self.n_units)
        hs = []
        for t in range(x.shape[1]):
            h = torch.tanh(drive[:, t] + h @ W_h.T)
            hs.append(h)
        H = torch.stack(hs, dim=1)
        return self.readout(H), H

    def output_fn_of_recurrent(self, x: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """A pure function W_h -> outputs (batch, time, out) on inputs ``x``, other weights fixed."""
        return lambda W: self.forward_loop(x, W)[0]
