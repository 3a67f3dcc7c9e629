"""Behavioral degeneracy: OOD MSE of each network and its spread over a condition's networks."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

__all__ = ["ood_mse", "behavior_degeneracy"]


@torch.no_grad()
def ood_mse(model, x, y, mask) -> float:
    """Masked MSE of ``model`` on a fixed batch: sum(mask * (y_hat - y)^2) / sum(mask).

    ``model.forward(x)`` must return ``(y_hat, h)``; x, y, mask are (batch, time, channels)
    (mask broadcastable to y). Evaluated without gradients, in the model's dtype/device.
    """
    try:
        p = next(model.parameters())
        dev, dt = p.device, p.dtype
    except (StopIteration, AttributeError):
        dev, dt = torch.device("cpu"), torch.float32
    x = torch.as_tensor(x, dtype=dt, device=dev)
    y = torch.as_tensor(y, dtype=dt, device=dev)
    mask = torch.as_tensor(mask, dtype=dt, device=dev)
    y_hat, _ = model(x)
    if y_hat.shape != y.shape:
        raise ValueError(f"model output shape {tuple(y_hat.shape)} != target shape {tuple(y.shape)}")
    mask = mask.expand_as(y)
    denom = mask.sum()
    if denom <= 0:
        raise ValueError("the OOD mask is all zero: no time steps to score")
    return float((mask * (y_hat - y) ** 2).sum() / denom)


def behavior_degeneracy(ood_mses: Sequence[float]) -> dict:
    """Behavioral degeneracy of a condition: population SD (ddof=0) of the networks' OOD MSEs.

    Returns ``{"sd", "mean", "n"}``; with no (finite) values, sd and mean are NaN and ``reason``
    says why. Non-finite values (diverged networks) are dropped and counted in ``n_dropped``.
    """
    v = np.asarray(list(ood_mses), dtype=float).ravel()
    finite = v[np.isfinite(v)]
    out = {"n": int(finite.size), "n_dropped": int(v.size - finite.size)}
    if finite.size < 1:
        out.update(sd=math.nan, mean=math.nan, reason="no finite OOD MSE values (need at least 1 network)")
        return out
    out.update(sd=float(finite.std(ddof=0)), mean=float(finite.mean()))
    return out
