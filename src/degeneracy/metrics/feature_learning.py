"""Feature-learning measures: recurrent weight change and tangent-kernel alignment."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

__all__ = ["weight_change", "tangent_kernel", "kernel_alignment"]


def weight_change(W0, WT) -> dict:
    """||W_T - W_0||_F (``abs``) and relative to ||W_0||_F (``rel``)."""
    a = torch.as_tensor(np.asarray(W0) if not isinstance(W0, torch.Tensor) else W0).detach().double()
    b = torch.as_tensor(np.asarray(WT) if not isinstance(WT, torch.Tensor) else WT).detach().double()
    if a.shape != b.shape:
        raise ValueError(f"W0 and WT must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    d = float(torch.linalg.norm(b - a))
    n0 = float(torch.linalg.norm(a))
    return {"abs": d, "rel": d / n0 if n0 > 0 else float("nan")}


def tangent_kernel(
    fn: Callable[[torch.Tensor], torch.Tensor],
    W: torch.Tensor,
    max_outputs: int = 512,
    block_size: int = 64,
    seed: int = 0,
) -> torch.Tensor:
    """Empirical tangent kernel K = J J^T of ``fn`` w.r.t. the recurrent parameter ``W``.

    J = d fn(W).flatten() / d W (outputs x params). Memory is bounded two ways:
    (1) output subsampling: if fn(W) has more than ``max_outputs`` entries, a fixed, evenly
    spaced subset of ``max_outputs`` flat indices is used (deterministic: the same entries for
    W_0 and W_T, so the two kernels are comparable; ``seed`` is unused and kept for API
    stability); (2) blockwise Jacobian: J is built ``block_size`` rows at a time with batched
    vector-Jacobian products (``torch.autograd.grad`` with ``is_grads_batched``) and only
    K += J_b J^T needs the full J (max_outputs x n_params, e.g. 512 x 16,384 float32 = 32 MiB
    at n=128). Output: (m, m) float64 with m = min(max_outputs, fn(W).numel()).
    """
    W = W.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = fn(W).reshape(-1)
        n_out = out.numel()
        if n_out > max_outputs:
            idx = torch.linspace(0, n_out - 1, max_outputs).round().long()
            out = out[idx]
        m = out.numel()
        rows = []
        for s in range(0, m, block_size):
            e = min(m, s + block_size)
            V = torch.zeros(e - s, m, dtype=out.dtype, device=out.device)
            V[torch.arange(e - s), torch.arange(s, e)] = 1.0
            (g,) = torch.autograd.grad(out, W, grad_outputs=V, retain_graph=True, is_grads_batched=True)
            rows.append(g.reshape(e - s, -1).detach().double())
    Jm = torch.cat(rows, 0)
    return Jm @ Jm.T


def kernel_alignment(K0, KT) -> float:
    """KA = Tr(K_T K_0) / (||K_T||_F ||K_0||_F) (1 = the kernel did not move; lower = more
    feature learning). Kernels must be on the same probe outputs."""
    a = torch.as_tensor(K0).double()
    b = torch.as_tensor(KT).double()
    if a.shape != b.shape:
        raise ValueError(f"kernels have different shapes {tuple(a.shape)} vs {tuple(b.shape)}")
    num = torch.trace(b @ a)
    den = torch.linalg.norm(b) * torch.linalg.norm(a)
    return float(num / den) if den > 0 else float("nan")


def network_kernel_alignment(
    model0: torch.nn.Module, modelT: torch.nn.Module, x: torch.Tensor, max_outputs: int = 512
) -> float:
    """Kernel alignment between the recurrent-weight tangent kernels of an initial and a trained
    network (same architecture) on probe inputs ``x`` (dimensionless, in [-1, 1]).

    A muP network with a zero-initialised readout (``readout_init: zero``) has K_0 = 0 (its output
    does not depend on J at init); then both kernels are measured with the trained readout, so the
    alignment isolates the change of the recurrent features.
    """
    import copy

    if getattr(model0, "W_out", None) is not None and not bool(model0.W_out.detach().any()):
        model0 = copy.deepcopy(model0)
        with torch.no_grad():
            model0.W_out.copy_(modelT.W_out)
    K0 = tangent_kernel(model0.output_fn_of_recurrent(x), model0.recurrent_parameter(), max_outputs)
    KT = tangent_kernel(modelT.output_fn_of_recurrent(x), modelT.recurrent_parameter(), max_outputs)
    return kernel_alignment(K0, KT)
