"""Multiplicity control over the cells of the effects table: Holm (family-wise error) and
Benjamini-Hochberg (false discovery rate). This module imports neither torch nor matplotlib."""

from __future__ import annotations

import numpy as np

__all__ = ["CORRECTIONS", "holm", "benjamini_hochberg", "adjust_p_values"]

#: Correction names accepted by :func:`adjust_p_values` and what the effects table prints for them.
CORRECTIONS: dict[str, str] = {"holm": "Holm", "bh": "Benjamini-Hochberg"}


def _finite_order(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p as floats, an all-NaN output of its shape, indices of its finite entries sorted by p)."""
    p = np.asarray(p, dtype=float)
    ok = np.flatnonzero(np.isfinite(p))
    return p, np.full(p.shape, np.nan), ok[np.argsort(p[ok], kind="stable")]


def holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (same order as ``p``; NaN entries stay NaN, not counted).

    With m finite p-values sorted ascending, p_adj(i) = max_{j <= i} min(1, (m - j + 1) p(j)).
    Rejecting p_adj < alpha controls the family-wise error rate at alpha.
    """
    p, out, order = _finite_order(p)
    m = order.size
    if m == 0:
        return out
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adj)
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values; NaN entries stay NaN, not counted).

    With m finite p-values sorted ascending, q(i) = min_{j >= i} min(1, m p(j) / j). Rejecting
    q < alpha controls the false discovery rate at alpha (independent or positively dependent tests).
    """
    p, out, order = _finite_order(p)
    m = order.size
    if m == 0:
        return out
    q = np.minimum(1.0, m * p[order] / np.arange(1, m + 1))
    out[order] = np.minimum.accumulate(q[::-1])[::-1]
    return out


def adjust_p_values(p: np.ndarray, method: str = "holm") -> np.ndarray:
    """Adjusted p-values by ``method`` ("holm" or "bh", see :data:`CORRECTIONS`)."""
    if method == "holm":
        return holm(p)
    if method == "bh":
        return benjamini_hochberg(p)
    raise ValueError(f"correction={method!r} is invalid; choose one of {sorted(CORRECTIONS)}")
