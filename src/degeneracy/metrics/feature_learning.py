"""Feature-learning measures: recurrent weight change and tangent-kernel alignment."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

__all__ = [
    "weight_change",
    "tangent_kernel",
    "kernel_alignment",
    "centre_kernel",
    "time_points",
    "tangent_features",
    "probe_kernel_alignment",
]


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


def centre_kernel(K) -> torch.Tensor:
    """H K H with H = I - 11^T/m: the kernel of the features with their mean over the m probe
    outputs removed (double centring, as in CKA)."""
    K = torch.as_tensor(K).double()
    return K - K.mean(0, keepdim=True) - K.mean(1, keepdim=True) + K.mean()


def kernel_alignment(K0, KT, centred: bool = False) -> float:
    """KA = Tr(K_T K_0) / (||K_T||_F ||K_0||_F) (1 = the kernel did not move; lower = more
    feature learning). Kernels must be on the same probe outputs. ``centred``: both kernels
    double-centred first (:func:`centre_kernel`), so a mode shared by all outputs (a constant
    kernel c 11^T) cannot dominate; NaN when a centred kernel is 0."""
    a = torch.as_tensor(K0).double()
    b = torch.as_tensor(KT).double()
    if a.shape != b.shape:
        raise ValueError(f"kernels have different shapes {tuple(a.shape)} vs {tuple(b.shape)}")
    if centred:
        a, b = centre_kernel(a), centre_kernel(b)
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


def time_points(n_steps: int, n_time_points: int) -> list[int]:
    """``n_time_points`` evenly spaced time steps of a trial of ``n_steps``, ending at the last:
    round((k + 1) T / n) - 1 for k = 0 .. n-1 (t = 0 is skipped: with h_0 = 0 the first output
    does not depend on the recurrent weights). Duplicates (n > T) are dropped."""
    n = max(1, min(int(n_time_points), int(n_steps)))
    return sorted({int(round((k + 1) * n_steps / n)) - 1 for k in range(n)})


def tangent_features(model: torch.nn.Module, x: torch.Tensor, times: list[int], chunk_trials: int = 16) -> torch.Tensor:
    """Rows of the Jacobian J = d y / d W_rec of ``model`` on probe inputs ``x`` (trials, time,
    in) at the time steps ``times``, all output channels: (trials * len(times) * outputs,
    n_params) float32, rows ordered (trial, time, output). An output depends only on its own
    trial, so J is built a chunk of trials at a time (one batched vector-Jacobian product per
    chunk; memory: the rows, m x n_params x 4 bytes)."""
    W = model.recurrent_parameter().detach()
    t_idx = torch.as_tensor(times, dtype=torch.long)
    rows = []
    for s in range(0, x.shape[0], chunk_trials):
        fn = model.output_fn_of_recurrent(x[s : s + chunk_trials])
        Wc = W.clone().requires_grad_(True)
        with torch.enable_grad():
            out = fn(Wc)[:, t_idx, :].reshape(-1)
            m = out.numel()
            V = torch.eye(m, dtype=out.dtype, device=out.device)
            (g,) = torch.autograd.grad(out, Wc, grad_outputs=V, is_grads_batched=True)
        rows.append(g.reshape(m, -1).detach().float())
    return torch.cat(rows, 0)


def probe_kernel_alignment(
    model0: torch.nn.Module,
    modelT: torch.nn.Module,
    x: torch.Tensor,
    n_time_points: int = 4,
    max_outputs: int = 2048,
    n_subsets: int = 4,
    sign_flip: bool = False,
) -> dict:
    """Kernel alignment of an initial and a trained network on a probe batch ``x`` (trials,
    time, in): all trials, a few time steps (:func:`time_points`), every output channel.

    ``sign_flip`` (tasks whose inputs may be negated, ``task.sign_symmetric``): every trial is
    paired with its copy x -> -x (targets -y), so the probe's targets are balanced. If trials x
    time points x outputs exceeds ``max_outputs``, fewer time points are used (never fewer
    trials). Returns ``kernel_alignment`` (uncentred), ``kernel_alignment_centred``
    (double-centred kernels), ``kernel_alignment_probe_sd`` (SD, ddof 1, of the uncentred KA
    over ``n_subsets`` disjoint subsets of the trials, each with its flipped copies: the
    probe-to-probe spread of a KA on K / n_subsets trials), ``kernel_alignment_centred_probe_sd``
    (the same for the centred KA), ``n_outputs`` (kernel size m) and
    ``times``. Zero-readout muP networks: see :func:`network_kernel_alignment`.
    """
    import copy

    import numpy as np

    if getattr(model0, "W_out", None) is not None and not bool(model0.W_out.detach().any()):
        model0 = copy.deepcopy(model0)
        with torch.no_grad():
            model0.W_out.copy_(modelT.W_out)
    K = x.shape[0]
    xs = torch.cat([x, -x], 0) if sign_flip else x
    with torch.no_grad():
        n_out = modelT.forward(xs[:1])[0].shape[-1]
    n_t = max(1, min(int(n_time_points), int(max_outputs) // (xs.shape[0] * n_out)))
    times = time_points(x.shape[1], n_t)
    per_trial = len(times) * n_out
    kernels = []
    for model in (model0, modelT):
        F = tangent_features(model, xs, times)
        kernels.append((F @ F.T).double())
        del F
    K0, KT = kernels
    trial_of_row = (np.arange(K0.shape[0]) // per_trial) % K
    subsets = np.array_split(np.random.default_rng(0).permutation(K), max(1, min(int(n_subsets), K)))
    sub, sub_c = [], []
    for trials in subsets:
        idx = torch.as_tensor(np.flatnonzero(np.isin(trial_of_row, trials)))
        sub.append(kernel_alignment(K0[idx][:, idx], KT[idx][:, idx]))
        sub_c.append(kernel_alignment(K0[idx][:, idx], KT[idx][:, idx], centred=True))
    return {
        "kernel_alignment": kernel_alignment(K0, KT),
        "kernel_alignment_centred": kernel_alignment(K0, KT, centred=True),
        "kernel_alignment_probe_sd": float(np.std(sub, ddof=1)) if len(sub) >= 2 else float("nan"),
        "kernel_alignment_centred_probe_sd": float(np.std(sub_c, ddof=1)) if len(sub_c) >= 2 else float("nan"),
        "kernel_alignment_subsets": sub,
        "n_outputs": int(K0.shape[0]),
        "times": times,
    }
