"""Classical (Torgerson) multidimensional scaling of a distance matrix (paper Figure 3A)."""

from __future__ import annotations

import numpy as np

__all__ = ["classical_mds"]


def classical_mds(D: np.ndarray, n_components: int = 2) -> np.ndarray:
    """Embed k points in ``n_components`` dimensions from a k x k distance matrix.

    B = -1/2 J D^2 J (J the centering matrix); coordinates = top eigenvectors * sqrt(eigenvalue)
    (negative eigenvalues of a non-Euclidean D are clipped to 0, giving zero columns). Signs are
    fixed so the largest-magnitude entry of each column is positive (deterministic output).
    """
    D = np.asarray(D, dtype=float)
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"D must be a square distance matrix, got shape {D.shape}")
    if not np.isfinite(D).all():
        raise ValueError("D contains NaN or inf (e.g. a condition with fewer than 2 networks)")
    k = D.shape[0]
    D = 0.5 * (D + D.T)
    J = np.eye(k) - np.full((k, k), 1.0 / k)
    B = -0.5 * J @ (D**2) @ J
    w, V = np.linalg.eigh(B)
    order = np.argsort(w)[::-1][:n_components]
    w, V = np.clip(w[order], 0, None), V[:, order]
    X = V * np.sqrt(w)
    if X.shape[1] < n_components:
        X = np.hstack([X, np.zeros((k, n_components - X.shape[1]))])
    for c in range(X.shape[1]):
        i = np.argmax(np.abs(X[:, c]))
        if X[i, c] < 0:
            X[:, c] *= -1
    return X
