"""Classical (Torgerson) multidimensional scaling of a distance matrix.

Used to draw each condition's networks as points whose spread shows their dynamics degeneracy
(figure 3, panel A). Imports numpy only.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["classical_mds", "count_missing_pairs"]

#: Iterations and relative tolerance of the missing-entry completion (``missing="fill"``).
FILL_MAX_ITER = 500
FILL_TOL = 1e-10


def _check_square(D: np.ndarray) -> np.ndarray:
    D = np.array(D, dtype=float)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"D must be a square distance matrix, got shape {D.shape}")
    finite = D[np.isfinite(D)]
    if (finite < 0).any():
        raise ValueError(f"D holds negative distances (min {finite.min():g}); distances are >= 0")
    return D


def _mirror(D: np.ndarray) -> np.ndarray:
    """Missing (non-finite) entries taken from the other triangle where that one is given."""
    return np.where(np.isfinite(D), D, D.T)


def count_missing_pairs(D: np.ndarray) -> int:
    """Number of unordered pairs i < j of ``D`` (k x k) with a distance in neither order.

    These are the entries that ``classical_mds(D, missing="fill")`` has to estimate; a pair
    given in one order only is not counted (its mirror is used). Returns a count of pairs.
    """
    D = _check_square(D)
    iu = np.triu_indices(D.shape[0], k=1)
    return int((~np.isfinite(_mirror(D)[iu])).sum())


def _embed(D: np.ndarray, n_components: int) -> np.ndarray:
    """Torgerson embedding of a complete, symmetric, zero-diagonal D."""
    k = D.shape[0]
    J = np.eye(k) - np.full((k, k), 1.0 / k)
    B = -0.5 * J @ (D**2) @ J
    w, V = np.linalg.eigh(0.5 * (B + B.T))
    order = np.argsort(w)[::-1][:n_components]
    X = V[:, order] * np.sqrt(np.clip(w[order], 0.0, None))
    if X.shape[1] < n_components:
        X = np.hstack([X, np.zeros((k, n_components - X.shape[1]))])
    return X


def _pdist(X: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1), 0.0, None))


def _embed_filled(D: np.ndarray, n_components: int) -> np.ndarray:
    """Embedding of a symmetric-where-given, zero-diagonal D whose NaN entries are estimated."""
    off = ~np.eye(D.shape[0], dtype=bool)
    holes = ~np.isfinite(D)
    if holes.any():
        given = D[off & ~holes]
        D[holes] = float(given.mean()) if given.size else 0.0
        D = 0.5 * (D + D.T)
        scale = float(np.abs(D).max()) or 1.0
        for _ in range(FILL_MAX_ITER):
            estimate = _pdist(_embed(D, n_components))
            change = float(np.abs(estimate[holes] - D[holes]).max())
            D[holes] = estimate[holes]
            if change <= FILL_TOL * scale:
                break
    return _embed(0.5 * (D + D.T), n_components)


def classical_mds(
    D: np.ndarray,
    n_components: int = 2,
    missing: Literal["raise", "fill"] = "raise",
) -> np.ndarray:
    """Embed k points in ``n_components`` dimensions from their k x k distance matrix ``D``.

    Returns a (k, n_components) float array of coordinates in the units of ``D``, centred on
    the origin. Torgerson's method: B = -1/2 J D^2 J (J the centring matrix), coordinates = top
    eigenvectors of B scaled by sqrt(eigenvalue). For a Euclidean D of rank <= n_components the
    pairwise distances of the result equal D exactly (the configuration is recovered up to
    rotation, reflection and translation); negative eigenvalues of a non-Euclidean D are clipped
    to 0, and components beyond k are zero columns. The asymmetric part of D is averaged out and
    the diagonal is taken as 0. Signs are fixed so that the largest-magnitude entry of each
    column is positive (the output is deterministic).

    ``missing`` says what to do with NaN or infinite entries:

    - ``"raise"`` (default): ValueError.
    - ``"fill"``: a pair given in one order only takes that value. Pairs given in neither order
      start at the mean of the finite off-diagonal distances (0 if there are none) and are
      then re-estimated from the embedding until they stop changing: embed, replace every
      missing entry by the distance of the two embedded points, repeat (at most
      :data:`FILL_MAX_ITER` rounds). Given distances are never changed. Points whose distances
      are all missing end up at the centre of the others. :func:`count_missing_pairs` says how
      many pairs were estimated.
    """
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) or n_components < 1:
        raise ValueError(f"n_components must be an integer >= 1, got {n_components!r}")
    if missing not in ("raise", "fill"):
        raise ValueError(f"missing must be 'raise' or 'fill', got {missing!r}")
    D = _check_square(D)
    k = D.shape[0]
    if k == 0:
        return np.zeros((0, int(n_components)))
    off = ~np.eye(k, dtype=bool)
    if not np.isfinite(D[off]).all():
        if missing == "raise":
            n_bad = int((~np.isfinite(D[off])).sum())
            raise ValueError(
                f"D has {n_bad} NaN or infinite off-diagonal entries (e.g. a network without "
                "distances); pass missing='fill' to estimate them"
            )
        D = _mirror(D)
    np.fill_diagonal(D, 0.0)
    # points without any distance are placed at the centre of the others
    known = (np.isfinite(D) & off).any(axis=1)
    X = np.zeros((k, int(n_components)))
    if known.any():
        X[known] = _embed_filled(D[np.ix_(known, known)], int(n_components))
    X -= X[known].mean(axis=0) if known.any() else 0.0
    for c in range(X.shape[1]):
        i = int(np.argmax(np.abs(X[:, c])))
        if X[i, c] < 0:
            X[:, c] *= -1
    return X
