"""The leaky mean-field (muP) rate network."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


class _LeakyRecurrence(torch.autograd.Function):
    """Fused forward/backward of h_t = a h_{t-1} + c J tanh(h_{t-1}) + u_t, h_0 = 0.

    Runs both time loops without recording an autograd graph per step; the gradient w.r.t. J is one
    matrix product over all steps. Returns H (batch, time, n).
    """

    @staticmethod
    def forward(ctx, u: torch.Tensor, J: torch.Tensor, a: float, c: float) -> torch.Tensor:
        B, T, n = u.shape
        H = torch.empty_like(u)
        Phi = torch.empty_like(u)  # tanh(h_t)
        h = u.new_zeros(B, n)
        phi = u.new_zeros(B, n)
        Jt = J.t()
        for t in range(T):
            h = torch.addmm(torch.add(u[:, t], h, alpha=a), phi, Jt, alpha=c)
            phi = torch.tanh(h)
            H[:, t] = h
            Phi[:, t] = phi
        ctx.save_for_backward(J, Phi)
        ctx.a, ctx.c = a, c
        return H

    @staticmethod
    def backward(ctx, G: torch.Tensor):
        J, Phi = ctx.saved_tensors
        a, c = ctx.a, ctx.c
        B, T, n = G.shape
        D = torch.empty_like(G)  # total gradient w.r.t. h_t
        delta = G[:, T - 1].clone()
        D[:, T - 1] = delta
        for t in range(T - 1, 0, -1):
            phi = Phi[:, t - 1]
            back = torch.mm(delta, J).mul_(1.0 - phi * phi)
            delta = torch.add(G[:, t - 1], delta, alpha=a).add_(back, alpha=c)
            D[:, t - 1] = delta
        grad_J = None
        if ctx.needs_input_grad[1]:
            # dJ = c * sum_t delta_t^T phi_{t-1}; phi_{-1} = 0
            grad_J = c * D[:, 1:].reshape(-1, n).t() @ Phi[:, :-1].reshape(-1, n)
        return D, grad_J, None, None


class MuPRNN(nn.Module):
    """Leaky mean-field rate network in the muP / mean-field parametrisation.

    h <- h + tau(-h + (1/N) J tanh(h) + U x), y = (1/(gamma N)) W_out tanh(h), h_0 = 0,
    J_ij ~ N(0, N) (so J/N has spectral radius ~1), U_ij ~ N(0, 1).
    ``gamma`` is the feature-learning strength; train with one Adam rate gamma * eta0.

    Small-gamma remedy (``readout_init``): with ``"zero"`` (default) W_out starts at 0, so the
    initial output is exactly 0 for every gamma instead of O(1/gamma); ``"normal"`` draws
    W_out ~ N(0, 1) (the textbook mean-field init, whose initial output explodes as gamma -> 0).
    ``recurrent_matrix()`` is J/N. :func:`degeneracy.models.build_model` redraws J with
    :meth:`reset_recurrent` from a generator of its own.
    """

    kind = "mup"

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        n_units: int = 128,
        gamma: float = 1.0,
        tau: float = 0.1,
        readout_init: str = "zero",
        fused: bool = True,
    ) -> None:
        super().__init__()
        if readout_init not in ("zero", "normal"):
            raise ValueError(f"readout_init={readout_init!r} is invalid; choose 'zero' or 'normal'")
        self.n_units, self.gamma, self.tau, self.fused = n_units, float(gamma), float(tau), fused
        self.J = nn.Parameter(torch.randn(n_units, n_units) * n_units**0.5)
        self.U = nn.Parameter(torch.randn(n_units, n_inputs))
        w_out = torch.zeros(n_outputs, n_units) if readout_init == "zero" else torch.randn(n_outputs, n_units)
        self.W_out = nn.Parameter(w_out)

    @staticmethod
    def draw_recurrent(n_units: int, generator: torch.Generator) -> torch.Tensor:
        """An initial J (n x n) from ``generator``: J_ij ~ N(0, N)."""
        return torch.randn(n_units, n_units, generator=generator) * n_units**0.5

    @torch.no_grad()
    def reset_recurrent(self, generator: torch.Generator) -> None:
        """Redraw J from ``generator`` (:meth:`draw_recurrent`); the other weights are kept."""
        self.J.copy_(self.draw_recurrent(self.n_units, generator))

    def _hidden(self, x: torch.Tensor, J: torch.Tensor) -> torch.Tensor:
        u = self.tau * (x @ self.U.T)
        a, c = 1.0 - self.tau, self.tau / self.n_units
        if self.fused:
            return _LeakyRecurrence.apply(u, J, a, c)
        h = u.new_zeros(u.shape[0], self.n_units)
        hs = []
        for t in range(u.shape[1]):
            h = a * h + c * torch.tanh(h) @ J.T + u[:, t]
            hs.append(h)
        return torch.stack(hs, dim=1)

    def _readout(self, H: torch.Tensor) -> torch.Tensor:
        return torch.tanh(H) @ self.W_out.T / (self.gamma * self.n_units)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (batch, time, in) -> (outputs (batch, time, out), hidden states h (batch, time, n))."""
        H = self._hidden(x, self.J)
        return self._readout(H), H

    def recurrent_parameter(self) -> nn.Parameter:
        """The trained recurrent parameter (J)."""
        return self.J

    def recurrent_matrix(self) -> torch.Tensor:
        """Effective recurrent matrix compared by the weight metric: J/N (n x n)."""
        return self.J / self.n_units

    def output_fn_of_recurrent(self, x: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """A pure function J -> outputs (batch, time, out) on ``x`` (unfused loop, torch.func friendly)."""
        return lambda J: self._readout(_loop_hidden(self, x, J))


def _loop_hidden(model: MuPRNN, x: torch.Tensor, J: torch.Tensor) -> torch.Tensor:
    fused, model.fused = model.fused, False
    try:
        return model._hidden(x, J)
    finally:
        model.fused = fused
