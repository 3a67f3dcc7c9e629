"""Structural regularisers of the recurrent matrix."""

from __future__ import annotations

import torch


def l1_penalty(W: torch.Tensor, lam: float) -> torch.Tensor:
    """lam * sum |W_ij| (same units as the MSE loss): a scalar for one (n, n) matrix, one value per
    matrix for a stack (..., n, n)."""
    return lam * W.abs().sum(dim=(-2, -1))


def nuclear_penalty(W: torch.Tensor, lam: float) -> torch.Tensor:
    """lam * ||W||_* (sum of singular values): the convex surrogate of low rank; a scalar for one
    (n, n) matrix, one value per matrix for a stack (..., n, n)."""
    return lam * torch.linalg.matrix_norm(W, ord="nuc")


def regulariser_penalty(W: torch.Tensor, kind: str, lam: float) -> torch.Tensor:
    """The penalty ``kind`` ('none', 'l1' or 'nuclear') with strength ``lam`` on matrix ``W`` (n, n), or
    on each matrix of a stack (..., n, n); shape ``W.shape[:-2]``."""
    if kind == "none" or lam == 0:
        return W.new_zeros(W.shape[:-2])
    if kind == "l1":
        return l1_penalty(W, lam)
    if kind == "nuclear":
        return nuclear_penalty(W, lam)
    raise ValueError(f"regulariser kind {kind!r} is invalid; choose 'none', 'l1' or 'nuclear'")
