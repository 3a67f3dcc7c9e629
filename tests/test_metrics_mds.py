"""Classical MDS recovers planar configurations up to rigid motion."""

import numpy as np
import pytest

from degeneracy.metrics.mds import classical_mds


def test_mds_recovers_distances():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 2)) * [3.0, 1.0]
    D = np.linalg.norm(X[:, None] - X[None], axis=-1)
    Y = classical_mds(D, 2)
    assert Y.shape == (8, 2)
    DY = np.linalg.norm(Y[:, None] - Y[None], axis=-1)
    np.testing.assert_allclose(DY, D, atol=1e-10)
    np.testing.assert_allclose(Y.mean(0), 0, atol=1e-12)


def test_mds_edge_cases():
    Y = classical_mds(np.zeros((3, 3)))
    assert Y.shape == (3, 2) and np.allclose(Y, 0)
    with pytest.raises(ValueError):
        classical_mds(np.full((2, 2), np.nan))
