"""SVCCA (Raghu et al. 2017): representational distance between two networks' probe activity.

Both networks see the same probe inputs, so their activity arrays (trials, time, units) share
the sample axis (trials * time) while the widths may differ. Per network, the activity is
flattened to samples x units and centred, then reduced by SVD to its leading components: either
a fixed number ``n_components`` = k (the study's setting ``svcca.n_components``, the same at every
level of a task), or, when ``n_components`` is None, the smallest number that explains
``variance`` (default 99%) of its total variance. Canonical correlation analysis between the two
reduced spaces gives min(k_a, k_b) canonical correlations; the distance is
``1 - mean canonical correlation`` (0 for two representations that are linear transforms of each
other, up to 1 for unrelated ones).

Why a fixed k: every canonical correlation counts equally in the mean, whatever the variance of
the directions it pairs. With the variance rule, a network whose activity spreads over more
dimensions keeps more low-variance components; those pair up poorly between networks (low
canonical correlations) and pull the mean down, so the distance grows with dimensionality alone
(flip-flop: 5 / 8 / 11 components at 1 / 2 / 3 channels). A fixed k compares the same number of
dominant directions at every level (docs/metrics.md, tests/test_metrics_svcca.py).

Computation: the reduced data of a network spans the same sample-space subspace as its first
k left singular vectors U_k (orthonormal columns), and the canonical correlations of two data
sets are the cosines of the principal angles between their column spaces, i.e. the singular
values of U_a^T U_b. :func:`pairwise_svcca` computes one basis per network (one network in
memory at a time) and all pairs in one batched ``svdvals`` call (bases zero-padded to a common
width; the padding only adds zero singular values, which are dropped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch

__all__ = ["svd_basis", "svcca_distance", "pairwise_svcca", "pairwise_svcca_spectrum", "SvccaResult"]


def _samples(activity, name: str) -> np.ndarray:
    a = np.asarray(activity.detach().cpu().numpy() if isinstance(activity, torch.Tensor) else activity)
    a = a.astype(np.float64, copy=False)
    if a.ndim == 3:
        a = a.reshape(-1, a.shape[-1])
    if a.ndim != 2:
        raise ValueError(f"{name}: activity must be (trials, time, units) or (samples, units); got shape {a.shape}")
    if a.shape[0] < 2:
        raise ValueError(f"{name}: SVCCA needs at least 2 samples, got {a.shape[0]}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: activity contains NaN or inf")
    return a


def _check(variance: float, n_components: int | None) -> None:
    if not 0.0 < variance <= 1.0:
        raise ValueError(f"variance must be in (0, 1], got {variance}")
    if n_components is not None and (
        isinstance(n_components, bool) or int(n_components) != n_components or n_components < 1
    ):
        raise ValueError(f"n_components must be a positive integer or None, got {n_components!r}")


def _basis(X: np.ndarray, variance: float, n_components: int | None) -> tuple[np.ndarray, float, int]:
    """(U_k, fraction of the variance in the k kept components, components reaching 99%)."""
    X = X - X.mean(axis=0, keepdims=True)
    U, S, _ = np.linalg.svd(X, full_matrices=False)
    s2 = S**2
    total = s2.sum()
    if total <= 0 or not np.isfinite(total):
        return U[:, :0], float("nan"), 0
    cum = np.cumsum(s2) / total
    # relative tolerance: rounding must not push the cumulative sum just under the fraction
    n99 = int(min(np.searchsorted(cum, 0.99 - 1e-12) + 1, S.size))
    if n_components is None:
        k = int(min(np.searchsorted(cum, variance - 1e-12) + 1, S.size))
    else:
        # directions with (numerically) zero variance are not part of the activity: never kept
        rank = int((S > S[0] * max(X.shape) * np.finfo(np.float64).eps).sum())
        k = int(min(int(n_components), rank))
    return U[:, :k], float(cum[k - 1]), n99


def svd_basis(activity, variance: float = 0.99, n_components: int | None = None) -> np.ndarray:
    """Orthonormal basis (samples, k) of the centred activity's leading SVD directions.

    ``activity``: (trials, time, units) or (samples, units). With ``n_components`` (a positive
    integer), k = n_components, or the activity's numerical rank if that is smaller. Without it,
    k is the smallest number of components whose squared singular values reach the fraction
    ``variance`` of the total (at least 1). Activity with zero variance returns a (samples, 0)
    array.
    """
    _check(variance, n_components)
    return _basis(_samples(activity, "activity"), variance, n_components)[0]


def svcca_distance(a, b, variance: float = 0.99, n_components: int | None = None) -> float:
    """SVCCA distance between two activity arrays over the same samples (see the module doc).

    Returns 1 - mean canonical correlation (dimensionless, in [0, 1]).
    """
    return float(pairwise_svcca([a, b], variance=variance, n_components=n_components)[0, 1])


@dataclass
class SvccaResult:
    """All pairs of a set of networks (:func:`pairwise_svcca_spectrum`).

    ``distance``: (k, k) symmetric, zero diagonal, NaN where a network has no variance.
    ``pairs``: (P, 2) index pairs i < j (row-major upper triangle). ``correlations``: (P, m)
    canonical correlations of each pair, descending, NaN-padded beyond min(kept_i, kept_j).
    ``kept``: components kept per network; ``explained``: the fraction of its variance they hold;
    ``n99``: components that hold 99% of its variance (a check on a fixed ``n_components``).
    """

    distance: np.ndarray
    pairs: np.ndarray
    correlations: np.ndarray
    kept: np.ndarray
    explained: np.ndarray
    n99: np.ndarray


def pairwise_svcca_spectrum(
    activities: Iterable,
    variance: float = 0.99,
    n_components: int | None = None,
    pairs: Sequence[tuple[int, int]] | None = None,
) -> SvccaResult:
    """All pairwise SVCCA distances of a set of networks' activity, with each pair's canonical
    correlations (see :class:`SvccaResult`).

    ``activities``: one (trials, time, units) or (samples, units) array per network (any
    iterable; each is reduced to its basis before the next is read); the sample counts must agree
    (the same probe inputs), the widths may differ. ``n_components``: fixed number of components
    kept per network (None: the ``variance`` rule). A network whose activity has zero variance
    gets NaN distances. Fewer than 2 networks: NaN distances and no pairs.
    ``pairs``: only these (i, j) index pairs, i < j (the workflow's chunked jobs); the distance
    of every other pair is NaN. A pair's values depend on its two networks only (pairs are
    batched by the larger of their two component counts), never on the rest of the set.
    """
    _check(variance, n_components)
    bases, explained, n99 = [], [], []
    n = None
    for i, a in enumerate(activities):
        X = _samples(a, f"network #{i}")
        if n is not None and X.shape[0] != n:
            raise ValueError(
                "SVCCA compares activity on the same probe samples; sample counts (trials * time) differ: "
                f"#0: {n}, #{i}: {X.shape[0]}"
            )
        n = X.shape[0]
        b, e, q = _basis(X, variance, n_components)
        del X
        bases.append(b)
        explained.append(e)
        n99.append(q)
    k = len(bases)
    dims = np.array([b.shape[1] for b in bases], dtype=np.int64)
    if pairs is None:
        I, J = np.triu_indices(k, 1)
    else:
        P = np.asarray(list(pairs), dtype=np.int64).reshape(-1, 2)
        if len(P) and not ((P[:, 0] < P[:, 1]) & (P[:, 0] >= 0) & (P[:, 1] < k)).all():
            raise ValueError(f"pairs must be index pairs i < j in 0..{k - 1}")
        I, J = P[:, 0], P[:, 1]
    m = int(dims.max()) if k else 0
    res = SvccaResult(
        distance=np.full((k, k), np.nan),
        pairs=np.column_stack([I, J]).astype(np.int64),
        correlations=np.full((len(I), max(m, 1)), np.nan),
        kept=dims,
        explained=np.array(explained, dtype=np.float64),
        n99=np.array(n99, dtype=np.int64),
    )
    if k < 2 or len(I) == 0:
        return res
    U = torch.zeros(k, n, max(m, 1), dtype=torch.float64)
    for i, b in enumerate(bases):
        U[i, :, : b.shape[1]] = torch.from_numpy(np.ascontiguousarray(b))
    del bases
    vals = np.empty(len(I))
    # one pair at a time, padded to the larger of its two component counts: batched products
    # and SVDs round differently with the batch's size, and a pair's canonical correlations
    # must not depend on the other pairs measured with it (the workflow's chunked jobs)
    for p, (i, j) in enumerate(zip(I, J)):
        mw = max(int(max(dims[i], dims[j])), 1)
        M = U[i, :, :mw].T @ U[j, :, :mw]  # (mw, mw)
        sv = torch.linalg.svdvals(M).clamp(0.0, 1.0).numpy()  # descending
        q = int(min(dims[i], dims[j]))
        res.correlations[p, :q] = sv[:q]
        vals[p] = 1.0 - float(sv[:q].mean()) if q > 0 else np.nan
    D = np.full((k, k), np.nan) if pairs is not None else np.zeros((k, k))
    np.fill_diagonal(D, 0.0)
    D[I, J] = vals
    D[J, I] = vals
    res.distance = D
    return res


def pairwise_svcca(activities: Iterable, variance: float = 0.99, n_components: int | None = None) -> np.ndarray:
    """All pairwise SVCCA distances of a set of networks' activity.

    ``activities``: one (trials, time, units) or (samples, units) array per network; the sample
    counts must agree (the same probe inputs), the widths may differ. ``n_components``: a fixed
    number of components per network (the workflow's ``svcca.n_components``); None keeps the
    components holding ``variance`` of each network's variance. Returns a symmetric k x k
    float64 array with zero diagonal (1 - mean canonical correlation, dimensionless). A network
    whose activity has zero variance gets NaN distances. Fewer than 2 networks: a k x k NaN array.
    """
    return pairwise_svcca_spectrum(activities, variance=variance, n_components=n_components).distance
