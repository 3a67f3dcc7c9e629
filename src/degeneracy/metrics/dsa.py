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
    "fit_operator_ranks",
    "hankel_top_singular",
    "max_rank",
    "pairwise_distances",
    "procrustes_similarity_distance",
    "dsa_null",
    "dsa_null_ranks",
    "dsa_null_split_half",
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
        t = torch.tensor(np.asarray(traj), dtype=dtype)  # a copy: the input may be read-only
    if t.ndim == 2:
        t = t.unsqueeze(0)
    if t.ndim != 3:
        raise ValueError(f"trajectories must be (trials, time, units) (or (time, units)); got shape {tuple(t.shape)}")
    return t


def _embedded_length(T: int, n_delays: int, delay_interval: int) -> int:
    """T' = T - (n_delays-1)*delay_interval, the time points per trial after the delay embedding;
    a ValueError when the settings are invalid or the window spans the whole trial."""
    if n_delays < 1 or delay_interval < 1:
        raise ValueError(f"n_delays and delay_interval must be >= 1 (got {n_delays}, {delay_interval})")
    Tp = T - (n_delays - 1) * delay_interval
    if Tp < 1:
        raise ValueError(
            f"n_delays={n_delays} x delay_interval={delay_interval} spans more than the "
            f"{T} time steps of the trajectories"
        )
    return Tp


def hankel_embed(traj, n_delays: int, delay_interval: int = 1) -> torch.Tensor:
    """Delay embedding within trials, the reference's ``embed_signal_torch`` convention.

    Returns (trials, T', units * n_delays) with ``T' = T - (n_delays-1)*delay_interval``;
    block ``d`` of the last axis holds the state ``d*delay_interval`` steps in the past.
    """
    x = _as_tensor(traj) if not isinstance(traj, torch.Tensor) or traj.ndim != 3 else traj
    Tp = _embedded_length(x.shape[1], n_delays, delay_interval)
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
    trial. ``rank=None`` keeps all columns (as the reference does). Returns a :class:`DSAFit`
    (A is dimensionless: it maps unit-norm SVD coordinates one step ahead).
    """
    return fit_operator_ranks(traj, n_delays, delay_interval, [rank], ridge, dtype)[0]


def max_rank(shape: tuple[int, int, int], n_delays: int, delay_interval: int = 1) -> int:
    """The largest DSA rank that trajectories of ``shape`` (trials, time, units) allow:
    min(embedding dimension units*n_delays, Hankel rows trials*T'), T' = time-(n_delays-1)*interval
    (0 when the delay window leaves fewer than 2 embedded time points)."""
    K, T, N = (int(v) for v in shape)
    Tp = T - (int(n_delays) - 1) * int(delay_interval)
    if Tp < 2:
        return 0
    return min(N * int(n_delays), K * Tp)


# Hankel matrices with more entries than this (512 MB in float64) are never built whole: their
# top singular vectors come from the Gram matrix H^T H, summed over chunks of trials.
SVD_MAX_ELEMENTS = 2**26


def hankel_top_singular(
    x: torch.Tensor, n_delays: int, delay_interval: int, rank: int, max_elements: int = SVD_MAX_ELEMENTS
) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``rank`` left singular vectors of the flattened Hankel matrix H of ``x``
    (trials, time, units), shaped (trials, T', rank), and ALL its singular values (descending,
    in the units of ``x``).

    Up to ``max_elements`` entries, H is built and decomposed exactly (SVD). Above it, memory
    stays bounded by the embedding dimension d = units * n_delays, not by the number of trials:
    the d x d Gram matrix H^T H is summed over chunks of trials of at most ``max_elements``
    entries, its eigendecomposition gives the singular values and right singular vectors W, and
    U = H W / S is formed chunk by chunk. This path resolves singular values down to about
    1e-7 of the largest (float64); a ``rank`` reaching below that raises a ValueError.
    """
    K, T, N = x.shape
    emb_dim = N * n_delays
    Tp = _embedded_length(T, n_delays, delay_interval)
    if K * Tp * emb_dim <= max_elements:
        U, S, _ = torch.linalg.svd(
            hankel_embed(x, n_delays, delay_interval).reshape(K * Tp, emb_dim), full_matrices=False
        )
        return U[:, :rank].reshape(K, Tp, rank), S
    chunk = max(1, max_elements // (Tp * emb_dim))
    G = torch.zeros(emb_dim, emb_dim, dtype=x.dtype)
    for i in range(0, K, chunk):
        Hc = hankel_embed(x[i : i + chunk], n_delays, delay_interval).reshape(-1, emb_dim)
        G += Hc.T @ Hc
    lam, W = torch.linalg.eigh(G)  # ascending
    S = lam.flip(0)[: min(K * Tp, emb_dim)].clamp_min(0.0).sqrt()  # as many as the SVD gives
    W = W.flip(1)[:, :rank]
    if S[rank - 1] <= 1e-7 * S[0]:
        raise ValueError(
            f"rank={rank} reaches singular values below 1e-7 of the largest ({float(S[rank - 1]):.3g} vs "
            f"{float(S[0]):.3g}): the trajectories span fewer dimensions than the rank; lower dsa.rank"
        )
    Wr = W / S[:rank]
    U = torch.cat([hankel_embed(x[i : i + chunk], n_delays, delay_interval) @ Wr for i in range(0, K, chunk)])
    return U, S


def fit_operator_ranks(
    traj,
    n_delays: int,
    delay_interval: int,
    ranks: Sequence[int | None],
    ridge: float = 1e-8,
    dtype: torch.dtype = torch.float64,
    max_elements: int = SVD_MAX_ELEMENTS,
) -> list[DSAFit]:
    """:func:`fit_operator` at several ranks from ONE Hankel SVD (the SVD dominates the cost).
    Returns one :class:`DSAFit` per entry of ``ranks``, in order. Large Hankel matrices are
    decomposed through their Gram matrix (:func:`hankel_top_singular`, ``max_elements``)."""
    x = _as_tensor(traj, dtype)
    K, T, N = x.shape
    Tp = _embedded_length(T, n_delays, delay_interval)
    if Tp < 2:
        raise ValueError(
            f"after the delay embedding each trial has {Tp} time point(s); at least 2 are needed "
            f"for the regression V[t] -> V[t+1] (reduce n_delays or delay_interval)"
        )
    emb_dim = N * n_delays
    n_rows = K * Tp
    checked = []
    for rank in ranks:
        rank = int(min(emb_dim, n_rows) if rank is None else rank)
        if rank < 1:
            raise ValueError(f"rank must be >= 1, got {rank}")
        if rank > emb_dim:
            raise ValueError(
                f"rank={rank} is larger than the embedding dimension n_delays*units = {n_delays}*{N} = {emb_dim}"
            )
        if rank > n_rows:
            raise ValueError(
                f"rank={rank} is larger than the number of Hankel rows trials*(time-(n_delays-1)*"
                f"delay_interval) = {K}*{Tp} = {n_rows}"
            )
        checked.append(rank)
    U, S = hankel_top_singular(x, n_delays, delay_interval, max(checked), max_elements)
    fits = []
    for rank in checked:
        V = U[:, :, :rank]
        Vm = V[:, :-1].reshape(-1, rank)
        Vp = V[:, 1:].reshape(-1, rank)
        G = Vm.T @ Vm + ridge * torch.eye(rank, dtype=dtype)
        A = torch.linalg.solve(G, Vm.T @ Vp).T
        fits.append(
            DSAFit(
                A=A.numpy().copy(),
                singular_values=S.numpy().copy(),
                n_delays=int(n_delays),
                delay_interval=int(delay_interval),
                rank=rank,
                ridge=float(ridge),
                shape=(K, T, N),
            )
        )
    return fits


def fit_operators(
    trajs: Sequence, n_delays: int, delay_interval: int = 1, rank: int | None = None, ridge: float = 1e-8
) -> list[DSAFit]:
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


def _sign_sync(Z: torch.Tensor, n_refine: int = 5) -> torch.Tensor:
    """Signs d (batched) maximising sum_ij Z_ij d_i d_j: top eigenvector, then greedy refinement."""
    Z = 0.5 * (Z + Z.transpose(-1, -2))
    _, ev = torch.linalg.eigh(Z)
    d = torch.sign(ev[..., -1])
    d[d == 0] = 1
    for _ in range(n_refine):
        dn = torch.sign((Z @ d.unsqueeze(-1)).squeeze(-1))
        dn[dn == 0] = 1
        d = dn
    return d


def _eig_warm_start(A: torch.Tensor, B: torch.Tensor, kind: str) -> torch.Tensor:
    """Orthogonal C with C B C^T = A exactly when B = Q^T A Q (Q orthogonal, generic spectra).

    Aligns the eigenbases of a symmetric matrix built from each operator (``sym``: A + A^T,
    ``gram_l``: A A^T, ``gram_r``: A^T A), C = U_A D U_B^T, and resolves the eigenvector sign
    ambiguity D by spectral sign synchronisation: want d_i d_j (U_B^T B U_B)_ij = (U_A^T A U_A)_ij.
    Any sign pattern is reachable, so reflections and sign flips are covered.
    """
    if kind == "sym":
        SA, SB = A + A.transpose(-1, -2), B + B.transpose(-1, -2)
    elif kind == "gram_l":
        SA, SB = A @ A.transpose(-1, -2), B @ B.transpose(-1, -2)
    else:
        SA, SB = A.transpose(-1, -2) @ A, B.transpose(-1, -2) @ B
    _, UA = torch.linalg.eigh(SA)
    _, UB = torch.linalg.eigh(SB)
    MA = UA.transpose(-1, -2) @ A @ UA
    MB = UB.transpose(-1, -2) @ B @ UB
    Z = MA * MB
    Z = Z - torch.diag_embed(torch.diagonal(Z, dim1=-2, dim2=-1))
    d = _sign_sync(Z)
    return (UA * d.unsqueeze(-2)) @ UB.transpose(-1, -2)


def _fg(A, B, C):
    """Loss ||C^T A C - B||_F^2 (= ||A - C B C^T||_F^2 for orthogonal C) and its gradient in
    so(r) for the left-trivialised update C <- C expm(W): g = Z - Z^T with
    Z = At^T R - R At^T, R = At - B, At = C^T A C."""
    At = C.transpose(-1, -2) @ A @ C
    R = At - B
    f = _dot(R, R)
    Atv = At.transpose(-1, -2)
    Z = torch.baddbmm(Atv @ R, R, Atv, alpha=-1.0)  # At^T R - R At^T
    return f, Z - Z.transpose(-1, -2)


def _dot(a, b):
    """Batched Frobenius inner products of (N, r, r) tensors -> (N,)."""
    return (a * b).sum((-2, -1))  # 2-3x faster than linalg.vecdot on CPU


def _newton_schulz(X: torch.Tensor) -> torch.Tensor:
    """One Newton-Schulz step X (3I - X^T X) / 2 towards O(r) (squares the orthogonality error)."""
    return torch.baddbmm(X, X, X.transpose(-1, -2) @ X, beta=1.5, alpha=-0.5)


def _retract(C: torch.Tensor, W: torch.Tensor, eye: torch.Tensor, project: bool = False) -> torch.Tensor:
    """A retraction of C along skew W by matrix products only (batched LU solves, as the Cayley
    map needs, are several times slower on CPU): C times the degree-4 Taylor polynomial of
    expm(W), then one Newton-Schulz step back onto O(r). The Taylor polynomial of a skew W is
    orthogonal up to ||W||^6 / 72 (the degree-5 terms cancel), so the Newton-Schulz step is
    applied only to the problems whose step is large enough for that to exceed the rounding
    level of the dtype (all of them when ``project``); the result stays in C's connected component.
    """
    W2 = W @ W
    inner = torch.add(W2, W, alpha=4.0).div_(24.0).add_(eye, alpha=0.5)  # I/2 + W/6 + W^2/24
    Cn = C @ torch.baddbmm(W + eye, W2, inner)  # C (I + W + W^2/2 + W^3/6 + W^4/24)
    if project:
        return _newton_schulz(Cn)
    tol = (72.0 * torch.finfo(W.dtype).eps) ** (1.0 / 6.0)  # ||W||^6 / 72 = eps
    big = (_dot(W, W) > tol * tol).nonzero().squeeze(1)
    if len(big) == len(Cn):
        return _newton_schulz(Cn)
    if len(big):
        Cn[big] = _newton_schulz(Cn[big])
    return Cn


def _riemannian_lbfgs(A, B, C, n_iter: int, memory: int = 3, max_ls: int = 4, init_step: float = 0.1):
    """Batched L-BFGS on O(r) (left-trivialised coordinates in so(r), exponential-like retraction,
    Armijo backtracking per problem). Every problem stays in the connected component of its start.
    Returns the final (N, r, r) points and (N,) losses."""
    N, r, _ = A.shape
    dtype = A.dtype
    eye = torch.eye(r, dtype=dtype)
    f, g = _fg(A, B, C)
    m = memory
    S = torch.zeros(m, N, r, r, dtype=dtype)
    Yh = torch.zeros_like(S)
    rho = torch.zeros(m, N, dtype=dtype)  # 0 for an empty or rejected pair: it then has no effect
    gamma = torch.ones(N, dtype=dtype)
    stored = 0
    arN = torch.arange(N)
    for it in range(n_iter):
        # two-loop recursion, d = -H g
        q = -g
        alphas = []
        idxs = [(stored - 1 - i) % m for i in range(min(stored, m))]
        for j in idxs:
            a = rho[j] * _dot(S[j], q)
            q.addcmul_(Yh[j], -a[:, None, None])
            alphas.append(a)
        q.mul_(gamma[:, None, None])
        for j, a in zip(reversed(idxs), reversed(alphas)):
            b = rho[j] * _dot(Yh[j], q)
            q.addcmul_(S[j], (a - b)[:, None, None])
        d = q
        gd = _dot(g, d)
        bad = gd >= 0
        if bad.any():
            d = torch.where(bad[:, None, None], -g, d)
            gd = _dot(g, d)
        dn = _dot(d, d).sqrt()
        if stored == 0:
            step = init_step / (dn + 1e-30)
        else:
            step = torch.ones(N, dtype=dtype)
        step = torch.minimum(step, 1.0 / (dn + 1e-30))  # at most ~1 rad per iteration
        todo = torch.ones(N, dtype=torch.bool)
        for ls in range(max_ls):
            if ls == 0:
                ii = arN
                # every 10th iteration all problems are projected (bounds the rounding drift)
                Ct = _retract(C, step[:, None, None] * d, eye, project=it % 10 == 9)
                ft, gt = _fg(A, B, Ct)
            else:
                ii = todo.nonzero().squeeze(1)
                if len(ii) == 0:
                    break
                Ct = _retract(C[ii], step[ii, None, None] * d[ii], eye)
                ft, gt = _fg(A[ii], B[ii], Ct)
            if ls < max_ls - 1:
                ok = ft <= f[ii] + 1e-4 * step[ii] * gd[ii]
            else:
                ok = ft < f[ii]
            if ls == 0:
                # Ct, gt are fresh tensors: take them and restore the (few) rejected problems
                Cn, fn, gn = Ct, torch.where(ok, ft, f), gt
                rej = (~ok).nonzero().squeeze(1)
                if len(rej):
                    Cn[rej] = C[rej]
                    gn[rej] = g[rej]
            else:
                acc = ii[ok]
                Cn[acc] = Ct[ok]
                fn[acc] = ft[ok]
                gn[acc] = gt[ok]
            todo[ii[ok]] = False
            step[ii[~ok]] *= 0.25
        moved = ~todo
        j = stored % m  # the oldest slot (already used by this iteration's two-loop recursion)
        s = torch.mul(d, (step * moved)[:, None, None], out=S[j])
        y = torch.sub(gn, g, out=Yh[j])
        sy = _dot(s, y)
        yy = _dot(y, y)
        good = moved & (sy > 1e-10 * dn * step * yy.sqrt())
        rho[j] = torch.where(good, 1.0 / torch.where(good, sy, torch.ones_like(sy)), torch.zeros_like(sy))
        gamma = torch.where(good, sy / yy.clamp_min(1e-30), gamma)
        stored += 1
        C, f, g = Cn, fn, gn
    return C, f


def _polar(C: torch.Tensor) -> torch.Tensor:
    U, _, Vh = torch.linalg.svd(C)
    return U @ Vh


def _tile(X: torch.Tensor, n: int) -> torch.Tensor:
    """(P, r, r) -> (n * P, r, r): n stacked copies (start-major)."""
    P, r, _ = X.shape
    return X.unsqueeze(0).expand(n, P, r, r).reshape(n * P, r, r)


def _default_starts(A: torch.Tensor, B: torch.Tensor, n_random_starts: int, seed: int) -> torch.Tensor:
    """(S, P, r, r) starts: three spectral warm starts, the identity, a reflection and
    ``n_random_starts`` Haar-random orthogonal matrices alternating det +1 / det -1 (the same
    random matrices for every pair, so a pair's starts do not depend on the batch)."""
    P, r, _ = A.shape
    gen = torch.Generator().manual_seed(int(seed))
    eye = torch.eye(r, dtype=torch.float64)
    refl = eye.clone()
    refl[0, 0] = -1.0
    starts = [_eig_warm_start(A, B, k) for k in ("sym", "gram_l", "gram_r")]
    starts += [eye.expand(P, r, r), refl.expand(P, r, r)]
    if n_random_starts > 0:
        # the same random matrices for every pair: a pair's starts do not depend on the batch
        Q = _haar_orthogonal(n_random_starts, r, gen, torch.float64)
        for s in range(n_random_starts):
            q = Q[s].clone()
            if (torch.linalg.det(q) > 0) == (s % 2 == 1):
                q[:, 0] *= -1
            starts.append(q.expand(P, r, r))
    return torch.stack(starts, 0)


def procrustes_similarity_distance(
    A: torch.Tensor,
    B: torch.Tensor,
    n_random_starts: int = 1,
    n_screen_iter: int = 20,
    n_keep: int = 2,
    n_iter: int = 120,
    n_polish_iter: int = 20,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    return_C: bool = False,
    chunk_size: int | None = 4096,
    starts: torch.Tensor | None = None,
):
    """Batched min over orthogonal C (rotations AND reflections) of ||A - C B C^T||_F.

    A, B: (P, r, r) (normalise them first if wanted). Returns (P,) float64 distances (and the
    best C if ``return_C``). All P pairs and all starts are one batch (no loop over pairs).

    Starts per pair: three spectral warm starts (``_eig_warm_start`` sym / gram_l / gram_r),
    the identity, a reflection diag(-1, 1, ..., 1), and ``n_random_starts`` Haar-random
    orthogonal matrices alternating det +1 / det -1 (drawn from ``seed``, the same for every
    pair). Successive halving: every start runs
    ``n_screen_iter`` L-BFGS iterations in ``dtype``, the ``n_keep`` best per pair continue for
    ``n_iter`` more, the best one is polished in float64 (``n_polish_iter``), projected exactly
    onto O(r) (polar factor) and evaluated in float64 -- so every returned value is attained by
    an exactly orthogonal C (a true upper bound of the minimum).

    ``starts`` (S, P, r, r) orthogonal matrices replace the default starts; when S <= ``n_keep``
    there is no screening and every start runs ``n_screen_iter + n_iter`` iterations.
    """
    A = torch.as_tensor(A).to(torch.float64)
    B = torch.as_tensor(B).to(torch.float64)
    if A.shape != B.shape or A.ndim != 3 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"A and B must both be (P, r, r); got {tuple(A.shape)} and {tuple(B.shape)}")
    P, r, _ = A.shape
    if P == 0:
        empty = torch.zeros(0, dtype=torch.float64)
        return (empty, torch.zeros(0, r, r, dtype=torch.float64)) if return_C else empty
    if chunk_size is not None and P > chunk_size:
        outs = [
            procrustes_similarity_distance(
                A[s : s + chunk_size],
                B[s : s + chunk_size],
                n_random_starts,
                n_screen_iter,
                n_keep,
                n_iter,
                n_polish_iter,
                seed,
                dtype,
                return_C,
                None,
                None if starts is None else starts[:, s : s + chunk_size],
            )
            for s in range(0, P, chunk_size)
        ]
        if return_C:
            return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])
        return torch.cat(outs)
    if starts is None:
        starts = _default_starts(A, B, n_random_starts, seed)
    C0 = torch.as_tensor(starts).to(torch.float64)
    n_s = C0.shape[0]
    if C0.shape[1:] != (P, r, r):
        raise ValueError(f"starts must be (S, {P}, {r}, {r}); got {tuple(C0.shape)}")
    Af = A.to(dtype)
    Bf = B.to(dtype)
    keep = min(n_keep, n_s)
    if n_s > keep:  # successive halving: screen all starts, continue the best `keep` per pair
        C, f = _riemannian_lbfgs(_tile(Af, n_s), _tile(Bf, n_s), C0.reshape(n_s * P, r, r).to(dtype), n_screen_iter)
        f = torch.nan_to_num(f.reshape(n_s, P), nan=float("inf"))
        idx = f.argsort(0)[:keep]  # (keep, P)
        C = C.reshape(n_s, P, r, r)[idx, torch.arange(P)].reshape(keep * P, r, r)
        main_iter = n_iter
    else:
        C = C0.reshape(n_s * P, r, r).to(dtype)
        main_iter = n_screen_iter + n_iter
    if main_iter > 0:
        C, f = _riemannian_lbfgs(_tile(Af, keep), _tile(Bf, keep), C, main_iter)
    # exact evaluation of every kept candidate in float64, best per pair
    C = _polar(C.to(torch.float64))
    f64, _ = _fg(_tile(A, keep), _tile(B, keep), C)
    f64 = torch.nan_to_num(f64.reshape(keep, P), nan=float("inf"))
    best = f64.argmin(0)
    ar = torch.arange(P)
    Cb = C.reshape(keep, P, r, r)[best, ar]
    fb = f64[best, ar]
    Cb, fb = _polish(A, B, Cb, fb, n_polish_iter)
    dist = fb.clamp_min(0).sqrt()
    if return_C:
        return dist, Cb
    return dist


def _polish(A: torch.Tensor, B: torch.Tensor, C: torch.Tensor, f: torch.Tensor, n_iter: int):
    """``n_iter`` float64 L-BFGS iterations from the orthogonal C (loss f), projected onto O(r)
    (polar factor) and kept per pair only where the exact float64 loss is lower. Returns (C, f)."""
    if n_iter <= 0:
        return C, f
    Cp, _ = _riemannian_lbfgs(A, B, C, n_iter, init_step=1e-3)
    Cp = _polar(Cp)
    fp, _ = _fg(A, B, Cp)
    better = fp < f
    return torch.where(better[:, None, None], Cp, C), torch.where(better, fp, f)


def _operator_array(o) -> np.ndarray:
    if isinstance(o, DSAFit):
        o = o.A
    if isinstance(o, torch.Tensor):
        o = o.detach().cpu().numpy()
    return np.asarray(o, dtype=np.float64)


def _wasserstein_eigs(ev_a: np.ndarray, ev_b: np.ndarray) -> float:
    """OT between two equal-size uniform eigenvalue sets in the complex plane with squared
    Euclidean ground cost (``ot.emd2(ones/n, ones/n, ot.dist(a, b))`` of the reference). With
    uniform weights and equal sizes the optimal plan is a permutation (Birkhoff), so the
    assignment problem gives the exact value."""
    from scipy.optimize import linear_sum_assignment

    M = np.abs(ev_a[:, None] - ev_b[None, :]) ** 2
    ri, ci = linear_sum_assignment(M)
    return float(M[ri, ci].sum() / len(ev_a))


def _random_starts(P: int, r: int, n: int, seed: int) -> torch.Tensor:
    """(n, P, r, r) Haar-random orthogonal starts, different for every pair, alternating
    det +1 / det -1."""
    gen = torch.Generator().manual_seed(int(seed))
    Q = _haar_orthogonal(n * P, r, gen, torch.float64).reshape(n, P, r, r)
    det = torch.linalg.det(Q)
    want_neg = (torch.arange(n) % 2 == 1)[:, None]
    flip = (det < 0) != want_neg
    Q[..., 0] = torch.where(flip[..., None], -Q[..., 0], Q[..., 0])
    return Q


def _composed_starts(C: torch.Tensor, d: torch.Tensor, k: int, n_starts: int, skip: int = 0) -> torch.Tensor:
    """Starts for every pair (i, j) of a k-set composed through other members m:
    C_im C_mj, for the m ranked ``skip`` ... ``skip + n_starts - 1`` by d_im + d_mj (smallest
    first; the ranking wraps around when it runs out of members).

    ``C`` (P, r, r), ``d`` (P,) are the current solutions of the pairs ``triu_indices(k, 1)``
    (``T_i ~ C_ij T_j C_ij^T``, so C_ji = C_ij^T and C_im C_mj aligns T_j to T_i).
    Returns (n_starts, P, r, r).
    """
    P, r, _ = C.shape
    I, J = np.triu_indices(k, 1)
    Cf = torch.eye(r, dtype=C.dtype).repeat(k, k, 1, 1)
    Cf[I, J] = C
    Cf[J, I] = C.transpose(-1, -2)
    D = torch.zeros(k, k, dtype=torch.float64)
    D[I, J] = d.to(torch.float64)
    D[J, I] = d.to(torch.float64)
    via = D[I] + D[J]  # (P, k): d_im + d_mj
    ar = torch.arange(P)
    via[ar, I] = float("inf")
    via[ar, J] = float("inf")
    order = via.argsort(1)[:, : k - 2]
    M = order[:, [(skip + t) % (k - 2) for t in range(n_starts)]].T  # (n_starts, P)
    return torch.stack([Cf[I, m] @ Cf[m, J] for m in M])


def pairwise_distances(
    operators: Sequence,
    mode: str = "euclidean",
    seed: int = 0,
    n_compose: int = 6,
    compose_keep: int = 1,
    compose_screen_iter: int = 10,
    compose_iter: int = 45,
    compose_rounds: int = 2,
    compose_random: int = 2,
    **optimiser_opts,
) -> np.ndarray:
    """All pairwise DSA distances of a set of operators (r x r arrays or :class:`DSAFit`).

    ``euclidean``: operators divided by their Frobenius norms, then
    min over orthogonal C (rotations and reflections) of ||A - C B C^T||_F (in [0, 2]).
    ``angular``: arccos(<A, C B C^T>) with the same optimal C = arccos(1 - d_eucl^2 / 2) (radians).
    ``wasserstein``: optimal transport between the eigenvalue sets of the raw operators
    (uniform weights, squared-distance cost), as the reference computes it (no optimisation).

    All k(k-1)/2 pairs go into ONE batched optimisation (:func:`procrustes_similarity_distance`,
    ``optimiser_opts`` are passed to it). Its starts and iterations do not depend on the other
    pairs of the batch, so this first pass returns, bit for bit, what each pair returns alone
    (``pairwise_distances([A, B])``): no pair of a set ends above its pair-alone value.
    For k >= 3, ``compose_rounds`` further batched passes restart every pair (i, j) from
    ``n_compose`` alignments composed through other members, C_im C_mj (screened for
    ``compose_screen_iter`` iterations, the best ``compose_keep`` run ``compose_iter`` more);
    the first round also runs ``compose_random`` Haar-random starts that differ from pair to
    pair (screened the same way, one kept), so that equivalent pairs explore different basins
    and the next round shares the best. A pair keeps a result only if it is lower; replaced
    alignments are polished in float64 at the end. ``n_compose=0`` (or k = 2): the first pass only.
    Returns a symmetric k x k array with zero diagonal (units: see ``mode``).
    Fewer than 2 operators: a k x k NaN array and a ``RuntimeWarning`` with the reason.
    """
    if mode not in MODES:
        raise ValueError(f"unknown DSA mode {mode!r}; expected one of {MODES}")
    mats = [_operator_array(o) for o in operators]
    k = len(mats)
    if k < 2:
        warnings.warn(
            f"DSA pairwise distances need at least 2 networks, got {k}: returning NaN",
            RuntimeWarning,
            stacklevel=2,
        )
        return np.full((k, k), np.nan)
    shapes = [m.shape for m in mats]
    for i, sh in enumerate(shapes):
        if len(sh) != 2 or sh[0] != sh[1]:
            raise ValueError(f"operator #{i} is not square: shape {sh}")
    if len(set(shapes)) > 1:
        raise ValueError(
            "all operators of a set must have the same rank (shape); got "
            + ", ".join(f"#{i}: {s}" for i, s in enumerate(shapes))
        )
    if not all(np.isfinite(m).all() for m in mats):
        bad = [i for i, m in enumerate(mats) if not np.isfinite(m).all()]
        raise ValueError(f"operators {bad} contain NaN or inf")
    I, J = np.triu_indices(k, 1)
    D = np.zeros((k, k))
    if mode == "wasserstein":
        evs = [np.linalg.eigvals(m) for m in mats]
        vals = np.array([_wasserstein_eigs(evs[i], evs[j]) for i, j in zip(I, J)])
    else:
        T = torch.as_tensor(np.stack(mats))
        norms = torch.linalg.matrix_norm(T).clamp_min(1e-300)
        T = T / norms[:, None, None]
        rounds = compose_rounds if k >= 3 and n_compose > 0 else 0
        # first pass: every pair runs exactly what it runs alone (its default starts, screening,
        # kept candidates and float64 polish), so no pair of a set ends above its pair-alone value
        d, C = procrustes_similarity_distance(T[I], T[J], seed=seed, return_C=True, **optimiser_opts)
        n_polish = int(optimiser_opts.get("n_polish_iter", 20))
        r = T.shape[-1]
        n_via = min(n_compose, k - 2)  # composed starts per pair and round
        ck = max(1, min(compose_keep, n_via))
        opts = {
            **optimiser_opts,
            "n_keep": ck,
            "n_screen_iter": compose_screen_iter if ck < n_via else 0,
            "n_iter": compose_iter,
            "n_polish_iter": 0,
        }
        improved = torch.zeros(len(I), dtype=torch.bool)
        for rnd in range(rounds):
            # restart every pair from alignments composed through the set; keep improvements
            starts = _composed_starts(C, d, k, n_via, skip=rnd * n_via)
            runs = [(starts, opts)]
            if rnd == 0 and compose_random > 0:
                # fresh random starts, different for every pair: equivalent pairs (copies of one
                # system) then explore different basins, and the next round shares the best
                rand = _random_starts(len(I), r, compose_random, seed + 1)
                runs.append((rand, {**opts, "n_keep": 1, "n_screen_iter": compose_screen_iter}))
            for st, o in runs:
                d2, C2 = procrustes_similarity_distance(T[I], T[J], seed=seed, starts=st, return_C=True, **o)
                better = d2 < d
                improved |= better
                d = torch.where(better, d2, d)
                C = torch.where(better[:, None, None], C2, C)
        ii = improved.nonzero().squeeze(1)
        if len(ii):  # one float64 polish of the alignments the composition passes replaced
            _, f = _polish(T[I][ii], T[J][ii], C[ii], d[ii] ** 2, n_polish)
            d[ii] = f.clamp_min(0).sqrt()
        d = d.numpy()
        if mode == "angular":
            vals = np.arccos(np.clip(1.0 - d**2 / 2.0, -1.0, 1.0))
        else:
            vals = d
    D[I, J] = vals
    D[J, I] = vals
    return D


def _check_same_shape(traj_a: torch.Tensor, traj_b: torch.Tensor) -> None:
    if tuple(traj_a.shape) != tuple(traj_b.shape):
        raise ValueError(
            f"the DSA null compares one network on two probe batches of the same size (trials, time, "
            f"units); got {tuple(traj_a.shape)} and {tuple(traj_b.shape)}"
        )


def dsa_null(
    traj_a,
    traj_b,
    n_delays: int,
    delay_interval: int = 1,
    rank: int | None = None,
    ridge: float = 1e-8,
    seed: int = 0,
    mode: str = "euclidean",
    **optimiser_opts,
) -> float:
    """Noise floor: DSA distance between the operators of ONE network fitted on two independent
    probe batches of the same size, ``traj_a`` and ``traj_b`` (trials, time, units; the probe and
    ``trajectories_probe2.parquet``), with the same settings (units of ``mode``). Between-network
    distances fit every network on all K trials of one probe, so this is the distance two
    identical networks would show from the probe sample alone: it shrinks as K^-1/2."""
    return dsa_null_ranks(traj_a, traj_b, n_delays, delay_interval, [rank], ridge, seed, mode, **optimiser_opts)[0]


def dsa_null_ranks(
    traj_a,
    traj_b,
    n_delays: int,
    delay_interval: int,
    ranks: Sequence[int | None],
    ridge: float = 1e-8,
    seed: int = 0,
    mode: str = "euclidean",
    **optimiser_opts,
) -> list[float]:
    """:func:`dsa_null` at several ranks from one SVD per probe batch; one value per rank."""
    xa, xb = _as_tensor(traj_a), _as_tensor(traj_b)
    _check_same_shape(xa, xb)
    fa = fit_operator_ranks(xa, n_delays, delay_interval, ranks, ridge)
    fb = fit_operator_ranks(xb, n_delays, delay_interval, ranks, ridge)
    return [float(pairwise_distances([a, b], mode=mode, seed=seed, **optimiser_opts)[0, 1]) for a, b in zip(fa, fb)]


def dsa_null_split_half(
    traj,
    n_delays: int,
    delay_interval: int = 1,
    rank: int | None = None,
    ridge: float = 1e-8,
    seed: int = 0,
    mode: str = "euclidean",
    **optimiser_opts,
) -> float:
    """The former noise floor: DSA between two disjoint random halves (K/2 trials each) of ONE
    probe batch. Kept only for networks measured from a single probe batch
    (:mod:`degeneracy.measure`); it overstates the floor of K-trial fits by about sqrt(2), since
    each half has half the trials (use :func:`dsa_null` where a second probe batch exists)."""
    x = _as_tensor(traj)
    K = x.shape[0]
    if K < 2:
        raise ValueError(f"the split-half DSA null needs at least 2 trials to split into halves, got {K}")
    perm = np.random.default_rng(seed).permutation(K)
    h = K // 2
    return dsa_null(
        x[torch.as_tensor(perm[:h])],
        x[torch.as_tensor(perm[h : 2 * h])],
        n_delays,
        delay_interval,
        rank,
        ridge,
        seed,
        mode,
        **optimiser_opts,
    )
