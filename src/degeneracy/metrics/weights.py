"""Permutation-invariant distance between recurrent weight matrices.

d(W1, W2) = min over permutation matrices P of ||W1 - P W2 P^T||_F, a quadratic assignment
problem: minimising the distance is maximising tr(W1^T P W2 P^T). We solve it with scipy's
FAQ (``quadratic_assignment(method="faq", maximize=True)``) from the identity and from a few
random doubly-stochastic starts, keep the best permutation, and never report more than the
unaligned distance ||W1 - W2||_F (P = I is always a candidate), so the result is an upper bound
of the true minimum.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Sequence

import numpy as np
from scipy.optimize import quadratic_assignment

__all__ = ["permutation_distance", "pairwise_weight_distances"]


def _as_matrix(W, name: str) -> np.ndarray:
    try:
        import torch

        if isinstance(W, torch.Tensor):
            W = W.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {W.shape}")
    if not np.isfinite(W).all():
        raise ValueError(f"{name} contains NaN or inf")
    return W


def permutation_distance(W1, W2, n_restarts: int = 4, seed: int = 0, restart_maxiter: int = 10) -> dict:
    """min_P ||W1 - P W2 P^T||_F by FAQ from the barycenter (full 30 iterations) and
    ``n_restarts`` random doubly-stochastic starts (``restart_maxiter`` FAQ iterations each);
    the identity (unaligned) is always a candidate.

    Returns dict: ``aligned`` (best distance found, <= unaligned), ``aligned_per_n2``
    (aligned / n^2, the paper's normalisation across sizes), ``unaligned`` (||W1 - W2||_F) and
    ``perm`` (int array p with (P W2 P^T)[i, j] = W2[p[i], p[j]], i.e. W2[np.ix_(p, p)]).
    """
    A = _as_matrix(W1, "W1")
    B = _as_matrix(W2, "W2")
    if A.shape != B.shape:
        raise ValueError(f"W1 and W2 must have the same shape, got {A.shape} and {B.shape}")
    n = A.shape[0]
    unaligned = float(np.linalg.norm(A - B))
    best_perm = np.arange(n)
    best = unaligned
    rng = np.random.default_rng(seed)
    # starts: the barycenter (scipy's default, the most reliable; recovers planted permutations
    # up to noise/signal ~1 by itself), then ``n_restarts`` of scipy's "randomized" starts
    # (J + K)/2 with K a random doubly-stochastic matrix, shortened to ``restart_maxiter``
    # iterations (they only refine the upper bound). P = I is covered by ``unaligned``.
    starts = ["barycenter"] + ["randomized"] * int(n_restarts)
    for s in starts:
        opts = {"P0": s, "maximize": True}
        if s == "randomized":
            opts.update(rng=rng, maxiter=int(restart_maxiter))
        res = quadratic_assignment(A, B, method="faq", options=opts)
        p = res.col_ind
        d = float(np.linalg.norm(A - B[np.ix_(p, p)]))
        if d < best:
            best, best_perm = d, p
    return {
        "aligned": best,
        "aligned_per_n2": best / n**2,
        "unaligned": unaligned,
        "perm": best_perm,
    }


def _chunk_job(args):
    mats, pairs, n_restarts, seed, restart_maxiter = args
    try:  # one BLAS thread per worker: n x n products are small, oversubscription is costly
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(1)
    except ImportError:  # pragma: no cover
        limiter = None
    out = []
    for i, j in pairs:
        r = permutation_distance(mats[i], mats[j], n_restarts, seed + 1000003 * i + j, restart_maxiter)
        out.append((r["aligned"], r["unaligned"]))
    if limiter is not None:
        limiter.restore_original_limits()
    return out


def pairwise_weight_distances(
    mats: Sequence, n_restarts: int = 4, seed: int = 0, n_jobs: int | None = None,
    restart_maxiter: int = 10,
) -> dict[str, np.ndarray]:
    """All pairwise permutation-invariant distances of a set of square matrices.

    Returns dict of symmetric k x k arrays with zero diagonal: ``aligned``, ``aligned_per_n2``,
    ``unaligned``. Each pair's restarts are seeded by (seed, i, j), so the result does not
    depend on ``n_jobs``. ``n_jobs`` worker processes (default: min(2, CPUs); 1 = in-process).
    Fewer than 2 matrices: NaN arrays (k x k).
    """
    M = [_as_matrix(W, f"matrix #{i}") for i, W in enumerate(mats)]
    k = len(M)
    if k < 2:
        nan = np.full((k, k), np.nan)
        return {"aligned": nan.copy(), "aligned_per_n2": nan.copy(), "unaligned": nan.copy()}
    shapes = {m.shape for m in M}
    if len(shapes) > 1:
        raise ValueError(f"all weight matrices of a set must have the same shape, got {sorted(shapes)}")
    n = M[0].shape[0]
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    if n_jobs is None:
        n_jobs = min(2, os.cpu_count() or 1)
    n_jobs = max(1, min(int(n_jobs), len(pairs)))
    if n_jobs == 1:
        res = _chunk_job((M, pairs, n_restarts, seed, restart_maxiter))
    else:
        chunks = [pairs[c::n_jobs] for c in range(n_jobs)]
        with ProcessPoolExecutor(max_workers=n_jobs) as ex:
            outs = list(ex.map(_chunk_job, [(M, ch, n_restarts, seed, restart_maxiter) for ch in chunks]))
        lookup = {}
        for ch, out in zip(chunks, outs):
            lookup.update(dict(zip(ch, out)))
        res = [lookup[p] for p in pairs]
    al = np.zeros((k, k))
    un = np.zeros((k, k))
    for (i, j), (a, u) in zip(pairs, res):
        al[i, j] = al[j, i] = a
        un[i, j] = un[j, i] = u
    return {"aligned": al, "aligned_per_n2": al / n**2, "unaligned": un}
