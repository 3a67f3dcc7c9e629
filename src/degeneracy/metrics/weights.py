"""Permutation-invariant distance between recurrent weight matrices.

d(W1, W2) = min over permutation matrices P of ||W1 - P W2 P^T||_F, a quadratic assignment
problem (QAP): minimising the distance is maximising tr(W1^T P W2 P^T). Trained networks from
different initialisations give a rugged landscape with many near-equal optima, so one local
method is not enough. :func:`permutation_distance` combines three:

* FAQ (Vogelstein et al. 2015), run exactly as scipy's ``quadratic_assignment(method="faq",
  maximize=True)`` -- same iterates, same permutation (tested) -- from the barycenter, an
  optional activity-based matching and random doubly-stochastic starts. Why our own loop:
  scipy recomputes A P B^T and A^T P B from scratch (6 dense n x n products per iteration);
  FAQ's direction Q is a permutation, so A Q B^T and A^T Q B are one product each on
  row-permuted B, and both gradients and the exact line search follow from them by updating
  (P <- Q + alpha (P - Q)): 2 products per iteration, ~1.6x faster at n = 128;
* 2-opt: best pairwise swaps of units until none improves;
* robust tabu search (Taillard 1991) from the best few local optima.

Both swap searches keep every swap gain up to date in O(n^2) per swap, in the compiled kernel
``_qap.c`` (:mod:`degeneracy.metrics._qap`) when ``pip install`` built it, else in numpy (the
same swaps, 9-18x slower per tabu iteration).

The identity (P = I) is always a candidate, so the result never exceeds ||W1 - W2||_F; it is an
upper bound of the true minimum, and ``gap`` estimates how far above it may be.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from degeneracy.metrics._qap import kernel, tabu_c, two_opt_c

__all__ = [
    "PAIR_KEYS",
    "activity_matching",
    "faq",
    "pair_seed",
    "pairwise_weight_distances",
    "permutation_distance",
    "tabu_search",
    "two_opt",
]


def _one_thread():
    """Context limiting BLAS to one thread: the n x n products here are small, and extra
    threads only add synchronisation (and contention in a worker pool)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _as_matrix(W, name: str) -> np.ndarray:
    if hasattr(W, "detach"):  # a torch tensor (torch is not imported for numpy inputs)
        W = W.detach().cpu().numpy()
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {W.shape}")
    if not np.isfinite(W).all():
        raise ValueError(f"{name} contains NaN or inf")
    return W


def faq(A: np.ndarray, B: np.ndarray, P0: np.ndarray, maxiter: int = 30, tol: float = 0.03):
    """FAQ for max_P tr(A P B^T P^T) from the doubly-stochastic ``P0``: the iteration of scipy's
    ``quadratic_assignment(A, B, method="faq", options={"P0": P0, "maximize": True,
    "maxiter": maxiter, "tol": tol})`` (no seeds, no shuffling).

    Returns (perm, n_iter): ``perm`` (int array) maximises over the permutation matrices near the
    final relaxed P, i.e. B[np.ix_(perm, perm)] is aligned to A.
    """
    n = A.shape[0]
    rows = np.arange(n)
    P = np.array(P0, dtype=np.float64)
    BT = B.T
    G1 = A @ P @ BT  # A P B^T
    G2 = A.T @ P @ B  # A^T P B; the gradient of tr(A P B^T P^T) is G1 + G2
    n_iter = 0
    for n_iter in range(1, int(maxiter) + 1):
        _, cols = linear_sum_assignment(G1 + G2, maximize=True)  # Q[i, cols[i]] = 1
        H1 = A @ BT[cols]  # A Q B^T
        H2 = A.T @ B[cols]  # A^T Q B
        R = P.copy()
        R[rows, cols] -= 1.0  # R = P - Q
        # f(Q + x R) = f(Q) + b x + a x^2 with a = <A R B^T, R>, b = <A Q B^T + A^T Q B, R>
        a = float(((G1 - H1) * R).sum())
        b = float(((H1 + H2) * R).sum())
        if a < 0 and 0 <= -b / (2 * a) <= 1:
            alpha = -b / (2 * a)
        else:
            alpha = 1.0 if b + a > 0 else 0.0
        step = (1.0 - alpha) * np.linalg.norm(R) / np.sqrt(n)  # ||P - P_new|| / sqrt(n)
        P = alpha * R
        P[rows, cols] += 1.0  # P_new = Q + alpha R = alpha P + (1 - alpha) Q
        G1 = H1 + alpha * (G1 - H1)
        G2 = H2 + alpha * (G2 - H2)
        if step < tol:
            break
    _, perm = linear_sum_assignment(P, maximize=True)
    return perm, n_iter


def _random_doubly_stochastic(n: int, rng: np.random.Generator, tol: float = 1e-3) -> np.ndarray:
    """scipy's "randomized" FAQ start: (J + K) / 2, J the barycenter and K a uniform random
    matrix scaled to doubly stochastic by Sinkhorn-Knopp (row and column sums within ``tol``)."""
    K = rng.uniform(size=(n, n))
    for _ in range(1000):
        if (np.abs(K.sum(1) - 1) < tol).all() and (np.abs(K.sum(0) - 1) < tol).all():
            break
        K = K / K.sum(0, keepdims=True)
        K = K / K.sum(1, keepdims=True)
    return (np.full((n, n), 1.0 / n) + K) / 2


def _swap_gains(A: np.ndarray, Sa: np.ndarray, C: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Change of f = <A, C> for every transposition of two positions (r, s) of the current
    permutation, C = B[perm][:, perm] and K = A C^T + A^T C; ``Sa[r, s] = A_rs + A_sr - A_rr - A_ss``.

    D[r, s] = K_rs + K_sr - K_rr - K_ss + Sa[r, s] (C_rs + C_sr - C_rr - C_ss): the first part
    is the change of every row/column pair (r, k), (s, k) summed over all k, the product term
    corrects the four entries where rows and columns r, s meet. Diagonal: 0. O(n^2) for all pairs.
    """
    g = np.diagonal(K)
    c = np.diagonal(C)
    U = K - g[:, None]
    D = U + U.T
    D += Sa * (C + C.T - (c[:, None] + c[None, :]))
    np.fill_diagonal(D, 0.0)
    return D


#: Smallest gain a swap search counts, relative to ||A|| ||B|| (the gains are float32).
_TOL = 1e-5


def _use_compiled(compiled: bool | None) -> bool:
    """Whether a swap search runs in C: ``compiled`` if given, else whenever the kernel is built
    (with a warning when it is not)."""
    built = kernel() is not None
    if compiled and not built:
        raise RuntimeError(
            "the compiled swap search (degeneracy.metrics._qapc) is not built: reinstall with a C compiler"
        )
    if compiled is None and not built:
        warnings.warn(
            "degeneracy.metrics._qapc is not built (no C compiler at install time): the weight distance "
            "runs its numpy search, the same swaps 9-18x slower. Install gcc or clang and run "
            "`pip install -e .` again.",
            RuntimeWarning,
            stacklevel=3,
        )
    return built if compiled is None else bool(compiled)


def two_opt(A, B, perm, compiled: bool | None = None) -> np.ndarray:
    """Steepest-descent pairwise-swap (2-opt) local search for max_p sum_ij A_ij B[p_i, p_j].

    Starting from ``perm``, applies the best improving swap of two units (all n(n-1)/2 swap gains
    kept up to date, O(n^2) per swap) until no swap improves. ``compiled``: use the C kernel
    (``_qap.c``; None = when built), else numpy; both apply the same swaps. Returns the local
    optimum (int array, same convention as :func:`faq`: B[np.ix_(p, p)] is aligned to A).
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    p = np.array(perm, dtype=np.int64)
    n = len(p)
    tol = _TOL * (np.linalg.norm(A) * np.linalg.norm(B) + 1e-300)
    if _use_compiled(compiled):
        return two_opt_c(A, B, p, tol)
    Sa = A + A.T - np.diagonal(A)[:, None] - np.diagonal(A)[None, :]
    for _ in range(n * n):
        C = B[np.ix_(p, p)]
        D = _swap_gains(A, Sa, C, A @ C.T + A.T @ C)
        r, s = divmod(int(np.argmax(D)), n)
        if D[r, s] <= tol:
            break
        p[[r, s]] = p[[s, r]]
    return p


def tabu_search(
    A, B, perms, n_iter: int, rng: np.random.Generator, refresh: int | None = None, compiled: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Robust tabu search over pairwise swaps (Taillard 1991) for max_p sum_ij A_ij B[p_i, p_j],
    from each row of ``perms`` (m x n, or one permutation), all m searches advanced together.

    Each iteration applies, in every search, the best swap that is not tabu, even if it lowers
    the objective, so a search walks out of 2-opt local optima. A swap is tabu when both units
    would return to positions they left within their tenure (drawn uniformly from
    [0.9 n, 1.1 n] iterations), unless it gives that search a new best (aspiration). Swap gains
    are kept up to date in O(n^2) per iteration.

    ``compiled`` (None = when built): run each search in the C kernel (``_qap.c``: float32 gains
    with Taillard's O(1) update). Otherwise numpy, all searches advanced together: float32 gains
    by a rank-4 update of A C^T + A^T C. Both recompute the gains, and each search's objective in
    float64, every ``refresh`` iterations (default: 1024 in C, where a recomputation costs
    O(n^3) operations; 64 in numpy, where it is two BLAS products), and draw the same tenures
    from ``rng``; they differ only in rounding, which can change a near-tie. The C kernel is 9.5x
    (n = 128) to 18x (n = 64) faster. The returned values are exact float64.

    Returns (best permutation visited by each search, m x n int array; their objective values
    sum_ij A_ij B[p_i, p_j], length m).
    """
    A64 = np.asarray(A, dtype=np.float64)
    B64 = np.asarray(B, dtype=np.float64)
    p = np.atleast_2d(np.array(perms, dtype=np.int64))
    m, n = p.shape
    tol = _TOL * (np.linalg.norm(A64) * np.linalg.norm(B64) + 1e-300)
    tenure = rng.integers(max(1, int(0.9 * n)), int(1.1 * n) + 1, size=(int(n_iter), 2, m))
    if _use_compiled(compiled):
        found = [tabu_c(A64, B64, p[b], tenure[:, :, b], tol, refresh or 1024) for b in range(m)]
        return np.stack([q for q, _ in found]), np.array([fv for _, fv in found])
    A = A64.astype(np.float32)
    B = B64.astype(np.float32)
    bm = np.arange(m)
    AT = np.ascontiguousarray(A.T)
    Sa = A + AT - np.diagonal(A)[:, None] - np.diagonal(A)[None, :]
    C = B[p[:, :, None], p[:, None, :]]  # C[b] = B[p_b][:, p_b]
    K = A @ C.transpose(0, 2, 1) + AT @ C
    f = (A64 * B64[p[:, :, None], p[:, None, :]]).sum(axis=(1, 2))
    fbest, pbest = f.copy(), p.copy()
    # tabu[b, r, s]: iteration until which the unit now at position s may not move to position r
    tabu = np.zeros((m, n, n), dtype=np.int32)
    diag = np.arange(n)
    refresh = refresh or 64
    R = np.empty((m, 4, n), dtype=np.float32)  # the changes of C: columns r, s (outside rows r, s), rows r, s
    for it in range(1, int(n_iter) + 1):
        # gains of all swaps (see _swap_gains) as X + X^T, X = K - diag(K)_r + Sa (C - diag(C)_s)
        X = C - np.diagonal(C, axis1=1, axis2=2)[:, None, :]
        X *= Sa
        X += K
        X -= np.diagonal(K, axis1=1, axis2=2)[:, :, None]
        D = X + X.transpose(0, 2, 1)
        blocked = tabu > it
        blocked &= blocked.transpose(0, 2, 1)
        blocked &= D <= (fbest - f + tol)[:, None, None]  # aspiration: a swap to a new best is allowed
        np.putmask(D, blocked, -np.inf)
        D[:, diag, diag] = -np.inf
        flat = D.reshape(m, -1).argmax(axis=1)
        gain = D.reshape(m, -1)[bm, flat]
        ok = gain > -np.inf  # all swaps tabu (tiny n): that search waits for tenures to expire
        r = np.where(ok, flat // n, 0)
        s = np.where(ok, flat % n, 0)
        f += np.where(ok, gain, 0.0)
        p[bm, r], p[bm, s] = p[bm, s], p[bm, r]
        better = f > fbest + tol
        if better.any():
            fbest[better] = f[better]
            pbest[better] = p[better]
        tabu[bm, :, r], tabu[bm, :, s] = tabu[bm, :, s], tabu[bm, :, r]
        tabu[bm, r, s] = np.where(ok, it + tenure[it - 1, 0], 0)  # the unit that left r (now at s)
        tabu[bm, s, r] = np.where(ok, it + tenure[it - 1, 1], 0)  # the unit that left s (now at r)
        row_r, row_s = C[bm, r, :], C[bm, s, :]
        C[bm, r, :], C[bm, s, :] = row_s, row_r
        col_r, col_s = C[bm, :, r], C[bm, :, s]
        C[bm, :, r], C[bm, :, s] = col_s, col_r
        if it % refresh == 0:
            K = A @ C.transpose(0, 2, 1) + AT @ C
            f = (A64 * B64[p[:, :, None], p[:, None, :]]).sum(axis=(1, 2))
            continue
        # K = A C^T + A^T C changes by A E^T + A^T E, E = C_new - C_old nonzero in rows and
        # columns r, s: with u, v its columns r, s outside those rows and a, b its rows r, s,
        # A E^T + A^T E = [A_:r A_:s A_r: A_s:] [u v a b]^T + (A a + A^T u) e_r^T + (A b + A^T v) e_s^T
        np.subtract(col_s, col_r, out=R[:, 0])
        np.negative(R[:, 0], out=R[:, 1])
        R[bm, 0, r] = R[bm, 0, s] = R[bm, 1, r] = R[bm, 1, s] = 0.0
        np.subtract(C[bm, r, :], row_r, out=R[:, 2])
        np.subtract(C[bm, s, :], row_s, out=R[:, 3])
        L = np.stack([AT[r], AT[s], A[r], A[s]], axis=2)  # (m, n, 4): A[:, r], A[:, s], A^T[:, r], A^T[:, s]
        K += L @ R
        Z = R[:, 2:] @ AT + R[:, :2] @ A  # (m, 2, n): A a + A^T u, A b + A^T v
        K[bm, :, r] += Z[:, 0]
        K[bm, :, s] += Z[:, 1]
    fvals = np.array([(A64 * B64[np.ix_(q, q)]).sum() for q in pbest])
    return pbest, fvals


def activity_matching(H1, H2) -> np.ndarray:
    """Unit matching from activity: the assignment maximising the summed Pearson correlation of
    matched units' activity on the same probe inputs (Hungarian algorithm).

    ``H1``, ``H2``: arrays (..., n) of hidden states with identical leading shapes (e.g.
    trials x time x units). Units with constant activity correlate 0 with everything.
    Returns perm (int array): unit i of network 1 is matched to unit perm[i] of network 2 (the
    convention of :func:`faq`, usable as a start ``np.eye(n)[perm]``).
    """
    X = np.asarray(H1, dtype=np.float64)
    Y = np.asarray(H2, dtype=np.float64)
    if X.shape != Y.shape:
        raise ValueError(f"activities must have the same shape, got {X.shape} and {Y.shape}")
    X = X.reshape(-1, X.shape[-1])
    Y = Y.reshape(-1, Y.shape[-1])
    X = X - X.mean(0)
    Y = Y - Y.mean(0)
    sx = np.linalg.norm(X, axis=0)
    sy = np.linalg.norm(Y, axis=0)
    R = (X.T @ Y) / np.outer(np.where(sx > 0, sx, np.inf), np.where(sy > 0, sy, np.inf))
    _, perm = linear_sum_assignment(R, maximize=True)
    return perm


def permutation_distance(
    W1,
    W2,
    n_restarts: int = 16,
    seed: int | Sequence[int] = 0,
    restart_maxiter: int = 15,
    n_polish: int = 4,
    tabu_iters: int = 2500,
    activity: tuple | None = None,
) -> dict:
    """min_P ||W1 - P W2 P^T||_F over permutation matrices P (a quadratic assignment problem).

    Search, all randomness from ``np.random.default_rng(seed)`` (an int or a sequence of ints):

    1. FAQ (:func:`faq`) from the barycenter (up to 30 iterations), from the activity matching
       if ``activity=(H1, H2)`` is given (:func:`activity_matching`, up to 30 iterations), and
       from ``n_restarts`` random doubly-stochastic starts (``restart_maxiter`` iterations each);
       each result refined by :func:`two_opt`;
    2. the ``n_polish`` best of these local optima (a permutation reached from several starts is
       searched once) are each improved by ``tabu_iters`` iterations of :func:`tabu_search`.

    The identity (unaligned) is always a candidate, so ``aligned <= unaligned``; the result is an
    upper bound of the true minimum.

    Returns dict: ``aligned`` (best distance found, weight units), ``aligned_per_n2`` (aligned /
    n^2), ``unaligned`` (||W1 - W2||_F), ``scale_free`` (aligned / sqrt((||W1||^2 + ||W2||^2) / 2),
    dimensionless), ``gap`` (fraction: the optimisation-gap estimate (d_worst - aligned) /
    aligned, d_worst the largest end distance of the step-2 searches, one per start, so 0 when
    all of them reached the same optimum; 0 when aligned = 0; NaN when ``n_polish < 2``), ``ends`` (sorted end distances of the step-2 searches, one per start),
    ``perm`` (int array p with (P W2 P^T)[i, j] = W2[p[i], p[j]], i.e.
    W2[np.ix_(p, p)] is the aligned W2).
    """
    A = _as_matrix(W1, "W1")
    B = _as_matrix(W2, "W2")
    if A.shape != B.shape:
        raise ValueError(f"W1 and W2 must have the same shape, got {A.shape} and {B.shape}")
    n = A.shape[0]
    rng = np.random.default_rng(seed)
    unaligned = float(np.linalg.norm(A - B))
    norm2 = float((A * A).sum() + (B * B).sum())

    def dist(p: np.ndarray) -> float:
        return float(np.linalg.norm(A - B[np.ix_(p, p)]))

    starts = [(np.full((n, n), 1.0 / n), 30)]
    if activity is not None:
        starts.append((np.eye(n)[activity_matching(*activity)], 30))
    starts += [(_random_doubly_stochastic(n, rng), int(restart_maxiter)) for _ in range(int(n_restarts))]
    local = []  # (distance, perm) per start
    with _one_thread():
        for P0, maxiter in starts:
            p = two_opt(A, B, faq(A, B, P0, maxiter=maxiter)[0])
            local.append((dist(p), p))
        local.sort(key=lambda t: t[0])  # stable: ties keep the order of the starts
        top = local[: max(1, int(n_polish))]
        keys = [p.tobytes() for _, p in top]
        uniq = list(dict.fromkeys(keys))  # distinct optima, in order of first appearance
        ends = np.array([d for d, _ in top])  # end distance of the search of each start
        best_d, best_p = local[0]
        if int(tabu_iters) > 0 and best_d > 0:  # distance 0 is optimal: nothing to search
            found, _ = tabu_search(A, B, np.stack([top[keys.index(key)][1] for key in uniq]), int(tabu_iters), rng)
            end_of = [dist(q) for q in found]
            ends = np.array([end_of[uniq.index(key)] for key in keys])
            k = int(np.argmin(end_of))
            if end_of[k] < best_d:
                best_d, best_p = end_of[k], found[k]
    if unaligned <= best_d:
        best_d, best_p = unaligned, np.arange(n)
    ends.sort()
    if len(ends) < 2:
        gap = np.nan
    elif best_d == 0:
        gap = 0.0
    else:
        gap = max(0.0, (float(ends[-1]) - best_d) / best_d)
    return {
        "aligned": best_d,
        "aligned_per_n2": best_d / n**2,
        "unaligned": unaligned,
        "scale_free": best_d / np.sqrt(norm2 / 2) if norm2 > 0 else np.nan,
        "gap": gap,
        "ends": ends,
        "perm": best_p,
    }


#: Keys of the pairwise result (each a symmetric k x k array with zero diagonal).
PAIR_KEYS = ("aligned", "aligned_per_n2", "unaligned", "scale_free", "gap")


def pair_seed(seed: int, label_a: int, label_b: int) -> list[int]:
    """The seed of one pair's search in :func:`pairwise_weight_distances`: ``[seed, a, b]`` with
    a < b the pair's two labels (network seeds in the workflow), for ``np.random.default_rng``.
    Independent of the other networks in the set and of the order of the pair."""
    a, b = sorted((int(label_a), int(label_b)))
    return [int(seed), a, b]


def ratio_to_init(aligned, aligned_init):
    """Per pair, the aligned distance of the trained matrices over the aligned distance of the same
    pair's initial matrices, d_T(a, b) / d_0(a, b) (unitless; elementwise on arrays).

    Before training (W_T = W_0) it is 1 at every width, and W_T = W_0 + eps G with the same relative
    eps gives the same ratio at every n, whereas ``scale_free`` of independent random matrices
    already rises with n (the search removes a smaller fraction of a larger matrix's distance).
    NaN where d_0 is 0 or either distance is not finite."""
    dT = np.asarray(aligned, dtype=np.float64)
    d0 = np.asarray(aligned_init, dtype=np.float64)
    ok = np.isfinite(dT) & np.isfinite(d0) & (d0 > 0)
    out = np.full(np.broadcast(dT, d0).shape, np.nan)
    np.divide(dT, d0, out=out, where=ok)
    return out if out.ndim else float(out)


def _chunk_job(args):
    mats, acts, labels, pairs, seed, search = args
    out = []
    for i, j in pairs:
        if labels[i] > labels[j]:  # the pair's search runs in the order (smaller label, larger)
            i, j = j, i
        act = None if acts is None else (acts[i], acts[j])
        r = permutation_distance(mats[i], mats[j], seed=pair_seed(seed, labels[i], labels[j]), activity=act, **search)
        out.append(tuple(r[key] for key in PAIR_KEYS))
    return out


def pairwise_weight_distances(
    mats: Sequence,
    n_restarts: int = 16,
    seed: int = 0,
    n_jobs: int | None = None,
    restart_maxiter: int = 15,
    labels: Sequence[int] | None = None,
    activities: Sequence | None = None,
    n_polish: int = 4,
    tabu_iters: int = 2500,
    pairs: Sequence[tuple[int, int]] | None = None,
) -> dict[str, np.ndarray]:
    """All pairwise permutation-invariant distances of a set of square matrices.

    Pair (i, j) is :func:`permutation_distance` ``(mats[a], mats[b], seed=pair_seed(seed,
    labels[a], labels[b]), activity=(activities[a], activities[b]) or None, ...)`` with the
    search settings given here, where (a, b) is (i, j) ordered by label. ``labels`` (distinct
    ints; default 0..k-1) are the workflow's network seeds, so a stored value does not depend on
    which other networks are in the set, nor on ``n_jobs`` (worker processes; default min(2,
    CPUs); 1 = in-process). ``activities``: optional per-matrix probe activity (..., n) on
    identical inputs, for the activity-matching start.

    Returns dict of symmetric k x k arrays with zero diagonal, keys :data:`PAIR_KEYS`:
    ``aligned`` (weight units), ``aligned_per_n2``, ``unaligned``, ``scale_free``
    (dimensionless), ``gap`` (fraction). Fewer than 2 matrices: NaN arrays (k x k).
    ``pairs``: only these (i, j) index pairs (the workflow's chunked jobs); every other
    off-diagonal entry is NaN. Each computed value is the one of the full set.
    """
    M = [_as_matrix(W, f"matrix #{i}") for i, W in enumerate(mats)]
    k = len(M)
    if k < 2:
        nan = np.full((k, k), np.nan)
        return {key: nan.copy() for key in PAIR_KEYS}
    shapes = {m.shape for m in M}
    if len(shapes) > 1:
        raise ValueError(f"all weight matrices of a set must have the same shape, got {sorted(shapes)}")
    labels = list(range(k)) if labels is None else [int(x) for x in labels]
    if len(labels) != k or len(set(labels)) != k:
        raise ValueError(f"labels must be {k} distinct integers, got {labels}")
    acts = None
    if activities is not None:
        if len(activities) != k:
            raise ValueError(f"got {len(activities)} activities for {k} matrices")
        acts = [np.asarray(h, dtype=np.float64) for h in activities]
    search = dict(
        n_restarts=int(n_restarts),
        restart_maxiter=int(restart_maxiter),
        n_polish=int(n_polish),
        tabu_iters=int(tabu_iters),
    )
    if pairs is None:
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    else:
        pairs = [(int(i), int(j)) for i, j in pairs]
        bad = [p for p in pairs if not (0 <= p[0] < k and 0 <= p[1] < k and p[0] != p[1])]
        if bad:
            raise ValueError(f"pairs must be index pairs of distinct matrices in 0..{k - 1}, got {bad[:3]}")
    if not pairs:
        out = {key: np.full((k, k), np.nan) for key in PAIR_KEYS}
        for D in out.values():
            np.fill_diagonal(D, 0.0)
        return out
    if n_jobs is None:
        n_jobs = min(2, os.cpu_count() or 1)
    n_jobs = max(1, min(int(n_jobs), len(pairs)))
    if n_jobs == 1:
        res = _chunk_job((M, acts, labels, pairs, seed, search))
    else:
        chunks = [pairs[c::n_jobs] for c in range(n_jobs)]
        with ProcessPoolExecutor(max_workers=n_jobs) as ex:
            outs = list(ex.map(_chunk_job, [(M, acts, labels, ch, seed, search) for ch in chunks]))
        lookup = {}
        for ch, out in zip(chunks, outs):
            lookup.update(dict(zip(ch, out)))
        res = [lookup[p] for p in pairs]
    out = {key: np.zeros((k, k)) if len(pairs) == k * (k - 1) // 2 else np.full((k, k), np.nan) for key in PAIR_KEYS}
    for D in out.values():
        np.fill_diagonal(D, 0.0)
    for (i, j), vals in zip(pairs, res):
        for key, v in zip(PAIR_KEYS, vals):
            out[key][i, j] = out[key][j, i] = v
    return out
