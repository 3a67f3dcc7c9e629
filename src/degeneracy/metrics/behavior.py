"""Behavioral degeneracy: a network's masked MSE on a fixed batch (held-out or OOD) and the spread
of that error over a condition's networks.

Every level of a factor must be scored on the same quantity. A task with an auxiliary output (delayed
discrimination with ``auxiliary=True``) lays out its ``n_channels`` primary outputs first and the
auxiliary outputs after them; the primary outputs are the ones every level shares, so they are what
behavior and the convergence test use (:func:`output_groups`). The auxiliary outputs' own error is
reported beside them.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

__all__ = ["ood_mse", "masked_mse", "masked_mse_se", "output_groups", "grouped_mse", "behavior_degeneracy"]


#: Trials per forward pass in :func:`grouped_mse` (bounds the memory of a large held-out batch).
_CHUNK = 512


def _as_tensors(model, *arrays):
    try:
        p = next(model.parameters())
        dev, dt = p.device, p.dtype
    except (StopIteration, AttributeError):
        dev, dt = torch.device("cpu"), torch.float32
    return [torch.as_tensor(a, dtype=dt, device=dev) for a in arrays]


def _masked_squares(y_hat, y, mask, outputs: Sequence[int] | None):
    """(mask * (y_hat - y)^2, mask) in float64 on the output channels ``outputs`` (all if None)."""
    y_hat, y, mask = (torch.as_tensor(a, dtype=torch.float64) for a in (y_hat, y, mask))
    if y_hat.shape != y.shape:
        raise ValueError(f"model output shape {tuple(y_hat.shape)} != target shape {tuple(y.shape)}")
    mask = mask.expand_as(y)
    if outputs is not None:
        idx = torch.as_tensor(list(outputs), dtype=torch.long)
        y_hat, y, mask = y_hat[..., idx], y[..., idx], mask[..., idx]
    return mask * (y_hat - y) ** 2, mask


def masked_mse(y_hat, y, mask, outputs: Sequence[int] | None = None) -> float:
    """sum(mask * (y_hat - y)^2) / sum(mask) over the output channels ``outputs`` (all if None).

    y_hat, y: (batch, time, channels); mask broadcastable to y. Returns squared output units.
    Raises ValueError when the shapes differ or the selected mask is all zero.
    """
    sq, mask = _masked_squares(y_hat, y, mask, outputs)
    denom = mask.sum()
    if denom <= 0:
        raise ValueError("the mask is all zero on the scored outputs: no time steps to score")
    return float(sq.sum() / denom)


def masked_mse_se(y_hat, y, mask, outputs: Sequence[int] | None = None) -> float:
    """Standard error of :func:`masked_mse` over the batch's trials (squared output units).

    The batch MSE is a ratio R = sum_i a_i / sum_i b_i over trials i, with a_i = sum(mask *
    (y_hat - y)^2) and b_i = sum(mask) of trial i; its standard error is the ratio estimator's,
    sqrt(sum_i (a_i - R b_i)^2 / (n (n - 1))) / mean(b). With equal b_i this is the sample SD
    (ddof=1) of the per-trial MSEs over sqrt(n). NaN with fewer than 2 trials.
    """
    sq, mask = _masked_squares(y_hat, y, mask, outputs)
    n = sq.shape[0]
    a = sq.reshape(n, -1).sum(1)
    b = mask.reshape(n, -1).sum(1)
    if n < 2 or float(b.sum()) <= 0:
        return math.nan
    r = a.sum() / b.sum()
    return float(torch.sqrt(((a - r * b) ** 2).sum() / (n * (n - 1))) / b.mean())


@torch.no_grad()
def ood_mse(model, x, y, mask, outputs: Sequence[int] | None = None) -> float:
    """Masked MSE of ``model`` on a fixed batch: sum(mask * (y_hat - y)^2) / sum(mask).

    ``model.forward(x)`` must return ``(y_hat, h)``; x, y, mask are (batch, time, channels)
    (mask broadcastable to y). ``outputs`` restricts the score to those output channels.
    Evaluated without gradients, in the model's dtype/device; returns squared output units.
    """
    x, y, mask = _as_tensors(model, x, y, mask)
    y_hat, _ = model(x)
    return masked_mse(y_hat, y, mask, outputs)


def output_groups(task: Any) -> dict[str, list[int] | None]:
    """Output channels of ``task`` split into ``{"main": [...], "aux": [...] | None}``.

    ``main`` are the outputs every level of a factor shares (for a task with ``auxiliary=True``,
    the first ``n_channels`` outputs); ``aux`` the auxiliary outputs after them, None without any.
    """
    n_out = int(task.n_outputs)
    if bool(getattr(task, "auxiliary", False)):
        c = int(task.n_channels)
        if n_out <= c:
            raise ValueError(f"task {getattr(task, 'name', task)!r} has auxiliary=True but only {n_out} outputs")
        return {"main": list(range(c)), "aux": list(range(c, n_out))}
    return {"main": list(range(n_out)), "aux": None}


@torch.no_grad()
def grouped_mse(model, x, y, mask, groups: dict[str, list[int] | None]) -> dict[str, float]:
    """Masked MSE per output group (see :func:`output_groups`), from forward passes of ``_CHUNK`` trials.

    Returns ``{"main": mse, "aux": mse, "main_se": se}`` in squared output units; ``aux`` is NaN
    when the task has no auxiliary output; ``main_se`` is the standard error of ``main`` over the
    batch's trials (:func:`masked_mse_se`).
    """
    x, y, mask = _as_tensors(model, x, y, mask)
    # chunks of trials bound the hidden states' memory (4096 trials x T x n at most _CHUNK at once)
    y_hat = torch.cat([model(x[i : i + _CHUNK])[0] for i in range(0, x.shape[0], _CHUNK)])
    aux = groups.get("aux")
    return {
        "main": masked_mse(y_hat, y, mask, groups["main"]),
        "aux": masked_mse(y_hat, y, mask, aux) if aux else math.nan,
        "main_se": masked_mse_se(y_hat, y, mask, groups["main"]),
    }


def behavior_degeneracy(ood_mses: Sequence[float]) -> dict:
    """Behavioral degeneracy of a condition: sample SD (ddof=1) of the networks' OOD MSEs.

    Returns ``{"sd", "mean", "n", "n_dropped"}`` (sd and mean in squared output units). The sample
    SD needs 2 networks; with fewer, sd is NaN and ``reason`` says why (mean is NaN only with none).
    Non-finite values (diverged networks) are dropped and counted in ``n_dropped``.
    """
    v = np.asarray(list(ood_mses), dtype=float).ravel()
    finite = v[np.isfinite(v)]
    out = {"n": int(finite.size), "n_dropped": int(v.size - finite.size)}
    if finite.size < 1:
        out.update(sd=math.nan, mean=math.nan, reason="no finite OOD MSE values (need at least 2 networks)")
        return out
    if finite.size < 2:
        out.update(sd=math.nan, mean=float(finite.mean()), reason="one network: the sample SD needs at least 2")
        return out
    out.update(sd=float(finite.std(ddof=1)), mean=float(finite.mean()))
    return out
