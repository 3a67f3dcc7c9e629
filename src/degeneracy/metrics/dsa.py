"""Dynamical Similarity Analysis (Ostrow et al. 2023), a fast torch implementation.

Two stages, so a workflow can cache the first:

1. :func:`fit_operator` -- per network: delay (Hankel) embedding within trials, SVD of the
   flattened Hankel matrix, rank truncation, ridge least squares ``V[t] -> V[t+1]`` within
   trials. Conventions match ``dsa-metric`` 2.0.2 (``DSA.DMD`` with ``reduced_rank_reg=False``).
2. :func:`pairwise_distances` -- per set of networks: all pairwise distances in ONE batched
   optimisation over all pairs and several starts (no Python loop over pairs).

See ``docs/metrics.md`` for the optimiser.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

__all__ = [
    "DSAFit",
    "hankel_embed",
    "fit_operator",
    "fit_operators",
    "pairwise_distances",
    "procrustes_similarity_distance",
    "dsa_null",
    "MODES",
]

MODES = ("euclidean", "angular", "wasserstein")


# ----------------------------------------------------------------------------------------
# Stage 1: operator fit
# ----------------------------------------------------------------------------------------


@dataclass
class DSAFit:
    """The fitted r x r operator of one network and the settings that produced it.

    ``A`` acts on column vectors of the rank-``r`` SVD coordinates: ``v[t+1] ~= A @ v[t]``
    (the reference's ``DMD.A_v``). ``singular_values`` are ALL singular values of the
    flattened Hankel matrix (so the explained variance of the truncation can be checked).
    """

    A: np.ndarray
    singular_values: np.ndarray
    n_delays: int
    delay_interval: int
    rank: int
    ridge: float
    shape: tuple = field(default=())  # (trials, time, units) of the data it was fitted to

    @property
    def explained_variance(self) -> float:
        s2 = np.asarray(self.singular_values, dtype=float) ** 2
        return float(s2[: self.rank].sum() / s2.sum()) if s2.sum() > 0 else float("nan")


def _as_tensor(traj, dtype=torch.float64) -> torch.Tensor:
    if isinstance(traj, torch.Tensor):
        t = traj.detach().to("cpu", dtype)
    else:
        t = torch.as_tensor(np.asarray(traj), dtype=dtype)
    if t.ndim == 2:
        t = t.unsqueeze(0)
    if t.ndim != 3:
        raise ValueError(
            f"trajectories must be (trials, time, units) (or (time, units)); got shape {tuple(t.shape)}"
        )
    return t


def hankel_embed(traj, n_delays: int, delay_interval: int = 1) -> torch.Tensor:
    """Delay embedding within trials, the reference's ``embed_signal_torch`` convention.

    Returns (trials, T', units * n_delays) with ``T' = T - (n_delays-1)*delay_interval``;
    block ``d`` of the last axis holds the state ``d*delay_interval`` steps in the past.
    """
    x = _as_tensor(traj) if not isinstance(traj, torch.Tensor) or traj.ndim != 3 else traj
    if n_delays < 1 or delay_interval < 1:
        raise ValueError(f"n_delays and delay_interval must be >= 1 (got {n_delays}, {delay_interval})")
    K, T, N = x.shape
    Tp = T - (n_delays - 1) * delay_interval
    if Tp < 1:
        raise ValueError(
            f"n_delays={n_delays} x delay_interval={delay_interval} spans more than the "
            f"{T} time steps of the trajectories"
        )
    blocks = []
    for d in range(n_delays):
        start = (n_delays - 1 - d) * delay_interval
        blocks.append(x[:, start : start + Tp])
    return torch.cat(blocks, dim=2)


def fit_operator(
    traj,
    n_delays: int,
    delay_interval: int = 1,
    rank: int | None = None,
    ridge: float = 1e-8,
    dtype: torch.dtype = torch.float64,
) -> DSAFit:
    """Fit the DSA operator of one network's trajectories (trials, time, units).

    Hankel embedding within trials -> SVD of the (trials*T', units*n_delays) matrix -> keep the
    first ``rank`` left singular vectors V (one row per embedded time point) -> ridge regression
    ``A = argmin sum_t ||V[t+1] - A V[t]||^2 + ridge ||A||^2`` over consecutive rows of the same
    trial. ``rank=None`` keeps all columns (as the reference does).
    """
    x = _as_tensor(traj, dtype)
    K, T, N = x.shape
    H = hankel_embed(x, n_delays, delay_interval)
    Tp = H.shape[1]
    if Tp < 2:
        raise ValueError(
            f"after the delay embedding each trial has {Tp} time point(s); at least 2 are needed "
            f"for the regression V[t] -> V[t+1] (reduce n_delays or delay_interval)"
        )
    emb_dim = N * n_delays
    n_rows = K * Tp
    if rank is None:
        rank = min(emb_dim, n_rows)
    rank = int(rank)
    if rank < 1:
        raise ValueError(f"rank must be >= 1, got {rank}")
    if rank > emb_dim:
        raise ValueError(
            f"rank={rank} is larger than the embedding dimension n_delays*units = "
            f"{n_delays}*{N} = {emb_dim}"
        )
    if rank > n_rows:
        raise ValueError(
            f"rank={rank} is larger than the number of Hankel rows trials*(time-(n_delays-1)*"
            f"delay_interval) = {K}*{Tp} = {n_rows}"
        )
    H2 = H.reshape(n_rows, emb_dim)
    U, S, _ = torch.linalg.svd(H2, full_matrices=False)
    V = U[:, :rank].reshape(K, Tp, rank)
    Vm = V[:, :-1].reshape(-1, rank)
    Vp = V[:, 1:].reshape(-1, rank)
    G = Vm.T @ Vm + ridge * torch.eye(rank, dtype=dtype)
    A = torch.linalg.solve(G, Vm.T @ Vp).T
    return DSAFit(
        A=A.numpy().copy(),
        singular_values=S.numpy().copy(),
        n_delays=int(n_delays),
        delay_interval=int(delay_interval),
        rank=rank,
        ridge=float(ridge),
        shape=(K, T, N),
    )


def fit_operators(trajs: Sequence, n_delays: int, delay_interval: int = 1, rank: int | None = None,
                  ridge: float = 1e-8) -> list[DSAFit]:
    """Fit a set of networks; all trajectory sets must have the same shape."""
    shapes = [tuple(np.shape(t)) for t in trajs]
    if len(set(shapes)) > 1:
        raise ValueError(
            "trajectories of one set must all have the same shape (trials, time, units); got "
            + ", ".join(f"#{i}: {s}" for i, s in enumerate(shapes) if s != shapes[0])
            + f" vs #0: {shapes[0]}"
        )
    return [fit_operator(t, n_delays, delay_interval, rank, ridge) for t in trajs]


# ----------------------------------------------------------------------------------------
# Stage 2: batched pairwise distances
# ----------------------------------------------------------------------------------------


def _skew(X: torch.Tensor) -> torch.Tensor:
    return 0.5 * (X - X.transpose(-1, -2))


def _haar_orthogonal(n_mat: int, r: int, gen: torch.Generator, dtype) -> torch.Tensor:
    Z = torch.randn(n_mat, r, r, generator=gen, dtype=dtype)
    Q, R = torch.linalg.qr(Z)
    d = torch.sign(torch.diagonal(R, dim1=-2, dim2=-1))
    d[d == 0] = 1
    return Q * d.unsqueeze(-2)


def _spectral_warm_start(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Orthogonal C with C B C^T ~= A when A, B are orthogonally similar.

    Aligns the eigenbases of the symmetric parts (C = U_A D U_B^T) and solves the eigenvector
    sign ambiguity D by spectral sign synchronisation on the antisymmetric parts:
    want d_i d_j M_B[i,j] = M_A[i,j] with M = U^T skew(.) U, i.e. d ~ sign of the top
    eigenvector of Z = M_A * M_B (elementwise). Batched over the leading dimension.
    """
    SA = 0.5 * (A + A.transpose(-1, -2))
    SB = 0.5 * (B + B.transpose(-1, -2))
    _, UA = torch.linalg.eigh(SA)
    _, UB = torch.linalg.eigh(SB)
    MA = UA.transpose(-1, -2) @ _skew(A) @ UA
    MB = UB.transpose(-1, -2) @ _skew(B) @ UB
    Z = MA * MB
    # add the (symmetric-part) diagonal so Z is never all zero (symmetric operators)
    evals, evecs = torch.linalg.eigh(Z + torch.diag_embed(torch.ones_like(Z[..., 0]) * 1e-12))
    d = torch.sign(evecs[..., -1])
    d[d == 0] = 1
    return (UA * d.unsqueeze(-2)) @ UB.transpose(-1, -2)


def _loss_and_grad(A, B, C):
    """||A - C B C^T||_F^2 and its Euclidean gradient w.r.t. C (batched)."""
    R = C @ B @ C.transpose(-1, -2) - A
    loss = (R * R).sum(dim=(-1, -2))
    G = 2.0 * (R @ C @ B.transpose(-1, -2) + R.transpose(-1, -2) @ C @ B)
    return loss, G


def _cayley(W: torch.Tensor, eye: torch.Tensor) -> torch.Tensor:
    """Cayley transform (I - W/2)^{-1} (I + W/2) of a batch of skew matrices (orthogonal, det +1)."""
    return torch.linalg.solve(eye - 0.5 * W, eye + 0.5 * W)


def procrustes_similarity_distance(
    A: torch.Tensor,
    B: torch.Tensor,
    n_random_starts: int = 4,
    n_iter: int = 300,
    lr: float = 0.1,
    seed: int = 0,
    return_C: bool = False,
    chunk_size: int | None = None,
):
    """Batched min over orthogonal C (rotations AND reflections) of ||A - C B C^T||_F.

    A, B: (P, r, r) tensors (already normalised if wanted). Returns (P,) distances (and the
    best C if ``return_C``). Riemannian Adam on O(r) with left-trivialised gradients and a
    Cayley retraction, from starts: spectral warm start, identity, a reflection and
    ``n_random_starts`` Haar-random orthogonal matrices of both determinants; each start is
    optimised within its connected component of O(r) and the best end point per pair is kept.
    Fully reproducible for a given seed (CPU, fixed thread count).
    """
    A = A.to(torch.float64)
    B = B.to(torch.float64)
    P, r, _ = A.shape
    if chunk_size is not None and P > chunk_size:
        outs = [
            procrustes_similarity_distance(
                A[s : s + chunk_size], B[s : s + chunk_size], n_random_starts, n_iter, lr,
                seed + 7919 * s, return_C, None,
            )
            for s in range(0, P, chunk_size)
        ]
        if return_C:
            return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])
        return torch.cat(outs)
    dtype = A.dtype
    gen = torch.Generator().manual_seed(int(seed))
    eye = torch.eye(r, dtype=dtype)
    refl = eye.clone()
    refl[0, 0] = -1.0
    starts = [
        _spectral_warm_start(A, B),
        eye.expand(P, r, r),
        refl.expand(P, r, r),
    ]
    if n_random_starts > 0:
        Q = _haar_orthogonal(P * n_random_starts, r, gen, dtype).reshape(n_random_starts, P, r, r)
        for s in range(n_random_starts):
            q = Q[s]
            if s % 2 == 1:  # flip determinant to cover the other component
                det = torch.linalg.det(q)
                q = q.clone()
                q[det > 0, :, 0] *= -1
            else:
                det = torch.linalg.det(q)
                q = q.clone()
                q[det < 0, :, 0] *= -1
            starts.append(q)
    S = len(starts)
    C = torch.stack(starts, 0).reshape(S * P, r, r).contiguous()
    AA = A.unsqueeze(0).expand(S, P, r, r).reshape(S * P, r, r)
    BB = B.unsqueeze(0).expand(S, P, r, r).reshape(S * P, r, r)

    beta1, beta2, eps = 0.9, 0.999, 1e-12
    m = torch.zeros_like(C)
    v = torch.zeros(S * P, 1, 1, dtype=dtype)
    best_loss, _ = _loss_and_grad(AA, BB, C)
    best_C = C.clone()
    for it in range(1, n_iter + 1):
        loss, G = _loss_and_grad(AA, BB, C)
        improved = loss < best_loss
        if improved.any():
            best_loss = torch.where(improved, loss, best_loss)
            best_C[improved] = C[improved]
        # left-trivialised Riemannian gradient in the Lie algebra so(r)
        Om = _skew(C.transpose(-1, -2) @ G)
        m = beta1 * m + (1 - beta1) * Om
        v = beta2 * v + (1 - beta2) * (Om * Om).mean(dim=(-1, -2), keepdim=True)
        mh = m / (1 - beta1**it)
        vh = v / (1 - beta2**it)
        step = -lr * mh / (vh.sqrt() + eps)
        C = C @ _cayley(_skew(step), eye)
    loss, _ = _loss_and_grad(AA, BB, C)
    improved = loss < best_loss
    best_loss = torch.where(improved, loss, best_loss)
    best_C[improved] = C[improved]

    best_loss = best_loss.reshape(S, P)
    idx = best_loss.argmin(0)
    dist = best_loss.gather(0, idx.unsqueeze(0)).squeeze(0).clamp_min(0).sqrt()
    if return_C:
        Cb = best_C.reshape(S, P, r, r)[idx, torch.arange(P)]
        return dist, Cb
    return dist
