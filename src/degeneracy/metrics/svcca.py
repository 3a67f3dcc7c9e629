"""SVCCA (Raghu et al. 2017): representational distance between two networks' probe activity.

Both networks see the same probe inputs, so their activity arrays (trials, time, units) share
the sample axis (trials * time) while the widths may differ. Per network, the activity is
flattened to samples x units and centred, then reduced by SVD to the leading components that
explain ``variance`` (default 99%) of its total variance. Canonical correlation analysis between
the two reduced spaces gives min(k_a, k_b) canonical correlations; the distance is
``1 - mean canonical correlation`` (0 for two representations that are linear transforms of each
other, up to 1 for unrelated ones).

Computation: the reduced data of a network spans the same sample-space subspace as its first
k left singular vectors U_k (orthonormal columns), and the canonical correlations of two data
sets are the cosines of the principal angles between their column spaces, i.e. the singular
values of U_a^T U_b. :func:`pairwise_svcca` computes one basis per network and all pairs in one
batched ``svdvals`` call (bases zero-padded to a common width; the padding only adds zero
singular values, which are dropped).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

__all__ = ["svd_basis", "svcca_distance", "pairwise_svcca"]


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


def svd_basis(activity, variance: float = 0.99) -> np.ndarray:
    """Orthonormal basis (samples, k) of the centred activity's leading SVD directions.

    ``activity``: (trials, time, units) or (samples, units). k is the smallest number of
    components whose squared singular values reach the fraction ``variance`` of the total (at
    least 1). Activity with zero variance returns a (samples, 0) array.
    """
    if not 0.0 < variance <= 1.0:
        raise ValueError(f"variance must be in (0, 1], got {variance}")
    X = _samples(activity, "activity")
    X = X - X.mean(axis=0, keepdims=True)
    U, S, _ = np.linalg.svd(X, full_matrices=False)
    s2 = S**2
    total = s2.sum()
    if total <= 0 or not np.isfinite(total):
        return U[:, :0]
    # relative tolerance: rounding must not push the cumulative sum just under ``variance``
    k = int(np.searchsorted(np.cumsum(s2) / total, variance - 1e-12) + 1)
    return U[:, : min(k, S.size)]


def svcca_distance(a, b, variance: float = 0.99) -> float:
    """SVCCA distance between two activity arrays over the same samples (see the module doc).

    Returns 1 - mean canonical correlation (dimensionless, in [0, 1]).
    """
    return float(pairwise_svcca([a, b], variance=variance)[0, 1])


def pairwise_svcca(activities: Sequence, variance: float = 0.99) -> np.ndarray:
    """All pairwise SVCCA distances of a set of networks' activity.

    ``activities``: one (trials, time, units) or (samples, units) array per network; the sample
    counts must agree (the same probe inputs), the widths may differ. Returns a symmetric k x k
    float64 array with zero diagonal (1 - mean canonical correlation, dimensionless). A network
    whose activity has zero variance gets NaN distances. Fewer than 2 networks: a k x k NaN array.
    """
    acts = list(activities)
    k = len(acts)
    if k < 2:
        return np.full((k, k), np.nan)
    Xs = [_samples(a, f"network #{i}") for i, a in enumerate(acts)]
    n_samples = {x.shape[0] for x in Xs}
    if len(n_samples) > 1:
        raise ValueError(
            "SVCCA compares activity on the same probe samples; sample counts (trials * time) differ: "
            + ", ".join(f"#{i}: {x.shape[0]}" for i, x in enumerate(Xs))
        )
    bases = [svd_basis(x, variance) for x in Xs]
    dims = np.array([b.shape[1] for b in bases])
    m = int(dims.max())
    n = Xs[0].shape[0]
    U = torch.zeros(k, n, max(m, 1), dtype=torch.float64)
    for i, b in enumerate(bases):
        U[i, :, : b.shape[1]] = torch.from_numpy(np.ascontiguousarray(b))
    I, J = np.triu_indices(k, 1)
    I_t, J_t = torch.as_tensor(I), torch.as_tensor(J)
    D = np.zeros((k, k))
    chunk = max(1, int(2e7 // max(1, m * m + n * m)))
    vals = np.empty(len(I))
    for s in range(0, len(I), chunk):
        M = U[I_t[s : s + chunk]].transpose(-1, -2) @ U[J_t[s : s + chunk]]  # (P, m, m)
        sv = torch.linalg.svdvals(M).clamp(0.0, 1.0).numpy()  # descending
        for p in range(sv.shape[0]):
            q = int(min(dims[I[s + p]], dims[J[s + p]]))
            vals[s + p] = 1.0 - float(sv[p, :q].mean()) if q > 0 else np.nan
    D[I, J] = vals
    D[J, I] = vals
    return D
