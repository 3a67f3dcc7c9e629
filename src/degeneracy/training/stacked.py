"""K networks of one architecture as stacked weights: one batched matrix product per time step.

A stacked model holds each parameter of the single-network model (same state-dict key) with a
leading member axis of size K. Member k computes exactly what the single network with member k's
weights computes, up to floating-point summation order. Inputs are ``(K, batch, time, in)`` and
outputs ``(K, batch, time, out)``.

The recurrences run as hand-written forward/backward loops (:class:`_StandardRecurrence`,
:class:`_LeakyRecurrence`): no autograd graph per time step, one ``bmm`` per step each way, and
the gradient of the recurrent matrix as one batched product over all steps. ``fused=False`` uses a
plain autograd loop instead, which ``torch.compile`` can trace and fuse.
"""

from __future__ import annotations

import torch
from torch import nn


class _StandardRecurrence(torch.autograd.Function):
    """h_t = tanh(a_t + h_{t-1} W^T), h_0 = 0, for K stacked networks.

    ``A`` (K, B, T, n) is the input drive (biases included), ``W`` (K, n, n). Returns H (K, B, T, n).
    """

    @staticmethod
    def forward(ctx, A: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        K, B, T, n = A.shape
        At = A.permute(2, 0, 1, 3)  # (T, K, B, n) view
        H = A.new_empty(T, K, B, n)
        h = A.new_zeros(K, B, n)
        Wt = W.transpose(1, 2)
        for t in range(T):
            h = torch.tanh(torch.baddbmm(At[t], h, Wt))
            H[t] = h
        ctx.save_for_backward(W, H)
        return H.permute(1, 2, 0, 3)

    @staticmethod
    def backward(ctx, G: torch.Tensor):
        W, H = ctx.saved_tensors
        T, K, B, n = H.shape
        Gt = G.permute(2, 0, 1, 3)
        dZ = torch.empty_like(H)  # gradient w.r.t. the pre-activation z_t
        dh = Gt[T - 1]
        for t in range(T - 1, -1, -1):
            h = H[t]
            dz = dh - dh * h * h
            dZ[t] = dz
            if t > 0:
                dh = torch.baddbmm(Gt[t - 1], dz, W)
        grad_W = None
        if ctx.needs_input_grad[1] and T > 1:
            # dW_k = sum_t dz_t^T h_{t-1}
            lhs = dZ[1:].permute(1, 3, 0, 2).reshape(K, n, (T - 1) * B)
            rhs = H[:-1].permute(1, 0, 2, 3).reshape(K, (T - 1) * B, n)
            grad_W = torch.bmm(lhs, rhs)
        elif ctx.needs_input_grad[1]:
            grad_W = torch.zeros_like(W)
        return dZ.permute(1, 2, 0, 3), grad_W


class _LeakyRecurrence(torch.autograd.Function):
    """h_t = a h_{t-1} + c tanh(h_{t-1}) J^T + u_t, h_0 = 0, for K stacked networks.

    ``u`` (K, B, T, n), ``J`` (K, n, n). Returns H (K, B, T, n).
    """

    @staticmethod
    def forward(ctx, u: torch.Tensor, J: torch.Tensor, a: float, c: float) -> torch.Tensor:
        K, B, T, n = u.shape
        ut = u.permute(2, 0, 1, 3)
        H = u.new_empty(T, K, B, n)
        Phi = u.new_empty(T, K, B, n)
        h = u.new_zeros(K, B, n)
        phi = u.new_zeros(K, B, n)
        Jt = J.transpose(1, 2)
        for t in range(T):
            h = torch.baddbmm(torch.add(ut[t], h, alpha=a), phi, Jt, alpha=c)
            phi = torch.tanh(h)
            H[t] = h
            Phi[t] = phi
        ctx.save_for_backward(J, Phi)
        ctx.a, ctx.c = a, c
        return H.permute(1, 2, 0, 3)

    @staticmethod
    def backward(ctx, G: torch.Tensor):
        J, Phi = ctx.saved_tensors
        a, c = ctx.a, ctx.c
        T, K, B, n = Phi.shape
        Gt = G.permute(2, 0, 1, 3)
        D = torch.empty_like(Phi)  # total gradient w.r.t. h_t
        delta = Gt[T - 1].clone()
        D[T - 1] = delta
        for t in range(T - 1, 0, -1):
            phi = Phi[t - 1]
            back = torch.bmm(delta, J).mul_(1.0 - phi * phi)
            delta = torch.add(Gt[t - 1], delta, alpha=a).add_(back, alpha=c)
            D[t - 1] = delta
        grad_J = None
        if ctx.needs_input_grad[1]:
            # dJ_k = c * sum_t delta_t^T phi_{t-1}; phi_{-1} = 0
            if T > 1:
                lhs = D[1:].permute(1, 3, 0, 2).reshape(K, n, (T - 1) * B)
                rhs = Phi[:-1].permute(1, 0, 2, 3).reshape(K, (T - 1) * B, n)
                grad_J = c * torch.bmm(lhs, rhs)
            else:
                grad_J = torch.zeros_like(J)
        return D.permute(1, 2, 0, 3), grad_J, None, None


class StackedRNN(nn.Module):
    """K networks of one kind (``"standard"`` or ``"mup"``) with stacked parameters.

    Build with :meth:`from_models`; ``params`` maps each single-network state-dict key to a
    (K, ...) leaf tensor. ``forward(x)`` maps (K, B, T, in) to outputs (K, B, T, out);
    ``recurrent_matrix()`` is the (K, n, n) matrix each single model's ``recurrent_matrix()`` returns.
    """

    def __init__(self, kind: str, params: dict[str, torch.Tensor], n_units: int, gamma: float = 1.0,
                 tau: float = 0.1, fused: bool = True) -> None:
        super().__init__()
        if kind not in ("standard", "mup"):
            raise ValueError(f"model kind {kind!r} is invalid; choose 'standard' or 'mup'")
        self.kind, self.n_units, self.gamma, self.tau, self.fused = kind, n_units, float(gamma), float(tau), fused
        self.keys = list(params)
        self.params = nn.ParameterDict({k.replace(".", "__"): nn.Parameter(v) for k, v in params.items()})

    @classmethod
    def from_models(cls, models: list[nn.Module], fused: bool = True) -> "StackedRNN":
        """Stack the parameters of single models of one kind (StandardRNN or MuPRNN) along a new axis 0."""
        first = models[0]
        names = [k for k, _ in first.named_parameters()]
        params = {k: torch.stack([dict(m.named_parameters())[k].detach() for m in models]).clone() for k in names}
        if first.kind == "mup":
            return cls("mup", params, first.n_units, first.gamma, first.tau, fused)
        return cls("standard", params, first.n_units, fused=fused)

    def p(self, key: str) -> torch.Tensor:
        """The stacked parameter of single-model state-dict key ``key`` (K, ...)."""
        return self.params[key.replace(".", "__")]

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member ``k``'s weights as a single-model state dict (CPU copies)."""
        return {key: self.p(key)[k].detach().to("cpu").clone() for key in self.keys}

    def keep(self, members: list[int]) -> None:
        """Keep only the listed members (in that order), dropping the others from every stack."""
        idx = torch.tensor(members, dtype=torch.long, device=self.p(self.keys[0]).device)
        for key in self.keys:
            name = key.replace(".", "__")
            self.params[name] = nn.Parameter(self.params[name].detach().index_select(0, idx))

    def recurrent_matrix(self) -> torch.Tensor:
        """(K, n, n): W_h for standard networks, J/N for muP networks."""
        if self.kind == "standard":
            return self.p("rnn.weight_hh_l0")
        return self.p("J") / self.n_units

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (K, B, T, in) -> outputs (K, B, T, out)."""
        if self.kind == "standard":
            return _standard_forward(
                x, *(self.p(k) for k in ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                                         "readout.weight", "readout.bias")), fused=self.fused
            )
        return _mup_forward(x, self.p("J"), self.p("U"), self.p("W_out"), self.n_units, self.gamma, self.tau,
                            fused=self.fused)


def _standard_forward(x, w_ih, w_hh, b_ih, b_hh, w_out, b_out, fused: bool = True) -> torch.Tensor:
    drive = torch.matmul(x, w_ih.transpose(1, 2).unsqueeze(1)) + (b_ih + b_hh)[:, None, None, :]
    if fused:
        H = _StandardRecurrence.apply(drive, w_hh)
    else:
        h = drive.new_zeros(drive.shape[0], drive.shape[1], drive.shape[3])
        Wt = w_hh.transpose(1, 2)
        hs = []
        for t in range(drive.shape[2]):
            h = torch.tanh(torch.baddbmm(drive[:, :, t], h, Wt))
            hs.append(h)
        H = torch.stack(hs, dim=2)
    return torch.matmul(H, w_out.transpose(1, 2).unsqueeze(1)) + b_out[:, None, None, :]


def _mup_forward(x, J, U, W_out, n_units: int, gamma: float, tau: float, fused: bool = True) -> torch.Tensor:
    u = tau * torch.matmul(x, U.transpose(1, 2).unsqueeze(1))
    a, c = 1.0 - tau, tau / n_units
    if fused:
        H = _LeakyRecurrence.apply(u, J, a, c)
    else:
        h = u.new_zeros(u.shape[0], u.shape[1], u.shape[3])
        Jt = J.transpose(1, 2)
        hs = []
        for t in range(u.shape[2]):
            h = torch.baddbmm(torch.add(u[:, :, t], h, alpha=a), torch.tanh(h), Jt, alpha=c)
            hs.append(h)
        H = torch.stack(hs, dim=2)
    return torch.matmul(torch.tanh(H), W_out.transpose(1, 2).unsqueeze(1)) / (gamma * n_units)
