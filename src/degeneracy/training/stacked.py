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


def member_chunks(K: int, n: int, device: torch.device) -> list[slice]:
    """Groups of members whose time loops run together. On CPU a group's recurrent matrices are
    kept to about 512 KiB so that they stay in cache across the time loop (measured: K = 50 at n = 128
    in one group is no faster than separate training, in groups of 8 it is); on a GPU one group."""
    size = K if device.type != "cpu" else max(1, min(K, (512 * 1024) // (4 * n * n)))
    return [slice(a, min(a + size, K)) for a in range(0, K, size)]


class _StandardRecurrence(torch.autograd.Function):
    """h_t = tanh(a_t + h_{t-1} W^T), h_0 = 0, for K stacked networks, time-major per member.

    ``A`` (K, T, B, n) is the input drive (biases included; any strides), ``W`` (K, n, n).
    Returns H (K, T, B, n), contiguous.
    """

    @staticmethod
    def forward(ctx, A: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        K, T, B, n = A.shape
        H = A.new_empty(K, T, B, n)
        for g in member_chunks(K, n, A.device):
            Ag, Hg, Wt = A[g], H[g], W[g].transpose(1, 2)
            torch.tanh(Ag[:, 0], out=Hg[:, 0])
            for t in range(1, T):
                torch.tanh(torch.baddbmm(Ag[:, t], Hg[:, t - 1], Wt), out=Hg[:, t])
        ctx.save_for_backward(W, H)
        return H

    @staticmethod
    def backward(ctx, G: torch.Tensor):
        W, H = ctx.saved_tensors
        K, T, B, n = H.shape
        dZ = torch.mul(H, H).neg_().add_(1.0)  # 1 - h_t^2, then the gradient w.r.t. the pre-activation z_t
        for g in member_chunks(K, n, H.device):
            dZg, Gg, Wg = dZ[g], G[g], W[g]
            dZg[:, T - 1].mul_(Gg[:, T - 1])
            for t in range(T - 1, 0, -1):
                dZg[:, t - 1].mul_(torch.baddbmm(Gg[:, t - 1], dZg[:, t], Wg))
        grad_W = None
        if ctx.needs_input_grad[1]:
            # dW_k = sum_t dz_t^T h_{t-1}
            grad_W = torch.bmm(
                dZ[:, 1:].reshape(K, (T - 1) * B, n).transpose(1, 2), H[:, :-1].reshape(K, (T - 1) * B, n)
            )
        return dZ, grad_W


class _LeakyRecurrence(torch.autograd.Function):
    """h_t = a h_{t-1} + c tanh(h_{t-1}) J^T + u_t, h_0 = 0, for K stacked networks, time-major.

    ``u`` (K, T, B, n) (any strides), ``J`` (K, n, n). Returns the rates tanh(h_t) as (K, T, B, n),
    contiguous (what the readout reads).
    """

    @staticmethod
    def forward(ctx, u: torch.Tensor, J: torch.Tensor, a: float, c: float) -> torch.Tensor:
        K, T, B, n = u.shape
        Phi = u.new_empty(K, T, B, n)
        for g in member_chunks(K, n, u.device):
            ug, Pg, Jt = u[g], Phi[g], J[g].transpose(1, 2)
            h = ug[:, 0]
            torch.tanh(h, out=Pg[:, 0])
            for t in range(1, T):
                h = torch.baddbmm(torch.add(ug[:, t], h, alpha=a), Pg[:, t - 1], Jt, alpha=c)
                torch.tanh(h, out=Pg[:, t])
        ctx.save_for_backward(J, Phi)
        ctx.a, ctx.c = a, c
        return Phi

    @staticmethod
    def backward(ctx, G: torch.Tensor):
        J, Phi = ctx.saved_tensors
        a, c = ctx.a, ctx.c
        K, T, B, n = Phi.shape
        S = torch.mul(Phi, Phi).neg_().add_(1.0)  # tanh'(h_t) = 1 - phi_t^2
        Gh = G * S  # direct gradient w.r.t. h_t through the readout
        D = torch.empty_like(Phi)  # total gradient w.r.t. h_t
        for g in member_chunks(K, n, Phi.device):
            Dg, Ghg, Sg, Jg = D[g], Gh[g], S[g], J[g]
            Dg[:, T - 1] = Ghg[:, T - 1]
            for t in range(T - 1, 0, -1):
                back = torch.bmm(Dg[:, t], Jg).mul_(Sg[:, t - 1])
                torch.add(Ghg[:, t - 1], Dg[:, t], alpha=a, out=Dg[:, t - 1]).add_(back, alpha=c)
        grad_J = None
        if ctx.needs_input_grad[1]:
            # dJ_k = c * sum_t delta_t^T phi_{t-1}; phi_{-1} = 0
            grad_J = c * torch.bmm(
                D[:, 1:].reshape(K, (T - 1) * B, n).transpose(1, 2), Phi[:, :-1].reshape(K, (T - 1) * B, n)
            )
        return D, grad_J, None, None


class StackedRNN(nn.Module):
    """K networks of one kind (``"standard"`` or ``"mup"``) with stacked parameters.

    Build with :meth:`from_models`; ``params`` maps each single-network state-dict key to a
    (K, ...) leaf tensor. ``forward(x)`` maps (K, B, T, in) to outputs (K, B, T, out);
    ``recurrent_matrix()`` is the (K, n, n) matrix each single model's ``recurrent_matrix()`` returns.
    """

    def __init__(
        self,
        kind: str,
        params: dict[str, torch.Tensor],
        n_units: int,
        gamma: float = 1.0,
        tau: float = 0.1,
        fused: bool = True,
    ) -> None:
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
                x,
                *(
                    self.p(k)
                    for k in (
                        "rnn.weight_ih_l0",
                        "rnn.weight_hh_l0",
                        "rnn.bias_ih_l0",
                        "rnn.bias_hh_l0",
                        "readout.weight",
                        "readout.bias",
                    )
                ),
                fused=self.fused,
            )
        return _mup_forward(
            x, self.p("J"), self.p("U"), self.p("W_out"), self.n_units, self.gamma, self.tau, fused=self.fused
        )


def _bmm_time_major(x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """x (K, B, T, i) times W^T for each member, W (K, o, i) -> (K, T, B, o) as a time-major view."""
    K, B, T, i = x.shape
    return torch.bmm(x.reshape(K, B * T, i), W.transpose(1, 2)).view(K, B, T, -1).transpose(1, 2)


def _readout(H: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Time-major H (K, T, B, n) times W^T, W (K, o, n) -> (K, B, T, o) as a view."""
    K, T, B, n = H.shape
    return torch.bmm(H.reshape(K, T * B, n), W.transpose(1, 2)).view(K, T, B, -1).transpose(1, 2)


def _loop(step, first: torch.Tensor, T: int) -> torch.Tensor:
    hs = [first]
    for t in range(1, T):
        hs.append(step(t, hs[-1]))
    return torch.stack(hs, dim=1)


def _standard_forward(x, w_ih, w_hh, b_ih, b_hh, w_out, b_out, fused: bool = True) -> torch.Tensor:
    drive = _bmm_time_major(x, w_ih) + (b_ih + b_hh)[:, None, None, :]  # (K, T, B, n)
    if fused:
        H = _StandardRecurrence.apply(drive, w_hh)
    else:
        Wt = w_hh.transpose(1, 2)
        H = _loop(lambda t, h: torch.tanh(torch.baddbmm(drive[:, t], h, Wt)), torch.tanh(drive[:, 0]), x.shape[2])
    return _readout(H, w_out) + b_out[:, None, None, :]


def _mup_forward(x, J, U, W_out, n_units: int, gamma: float, tau: float, fused: bool = True) -> torch.Tensor:
    u = tau * _bmm_time_major(x, U)  # (K, T, B, n)
    a, c = 1.0 - tau, tau / n_units
    if fused:
        rates = _LeakyRecurrence.apply(u, J, a, c)
    else:
        Jt = J.transpose(1, 2)
        rates = torch.tanh(
            _loop(
                lambda t, h: torch.baddbmm(torch.add(u[:, t], h, alpha=a), torch.tanh(h), Jt, alpha=c),
                u[:, 0],
                x.shape[2],
            )
        )
    return _readout(rates, W_out) / (gamma * n_units)
