"""Classical MDS against planted configurations with known coordinates."""

import numpy as np
import pytest
from scipy.spatial import procrustes
from scipy.spatial.distance import pdist, squareform

from degeneracy.metrics.mds import classical_mds, count_missing_pairs


def planted(k: int = 10, dim: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k points with known coordinates (anisotropic, so the axes are well defined) and their
    Euclidean distance matrix computed by scipy."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((k, dim)) * np.arange(dim, 0, -1) * 2.0
    return X, squareform(pdist(X))


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_recovers_planted_configuration(dim):
    X, D = planted(12, dim, seed=dim)
    Y = classical_mds(D, n_components=dim)
    assert Y.shape == (12, dim)
    # same configuration up to rotation / reflection / translation (and exactly the same scale)
    np.testing.assert_allclose(squareform(pdist(Y)), D, atol=1e-9)
    assert procrustes(X, Y)[2] < 1e-15
    np.testing.assert_allclose(Y.mean(axis=0), 0.0, atol=1e-12)


def test_collinear_points_recovered_as_centred_positions():
    # points on a line at known positions: the 1-D embedding is the centred positions (sign fixed
    # so the largest-magnitude entry is positive)
    pos = np.array([0.0, 1.0, 3.0, 7.0])
    D = np.abs(pos[:, None] - pos[None])
    Y = classical_mds(D, n_components=1)[:, 0]
    expected = pos - pos.mean()  # [-2.75, -1.75, 0.25, 4.25]: largest magnitude is positive
    np.testing.assert_allclose(Y, expected, atol=1e-12)
    # extra components of a 1-D configuration are zero
    Y3 = classical_mds(D, n_components=3)
    np.testing.assert_allclose(Y3[:, 0], expected, atol=1e-12)
    np.testing.assert_allclose(Y3[:, 1:], 0.0, atol=1e-6)


def test_rows_follow_a_permutation_of_the_points():
    X, D = planted(8, 2, seed=3)
    perm = np.random.default_rng(0).permutation(8)
    Y = classical_mds(D)
    Yp = classical_mds(D[np.ix_(perm, perm)])
    np.testing.assert_allclose(squareform(pdist(Yp)), squareform(pdist(Y[perm])), atol=1e-9)


def test_more_components_than_points_padded_with_zeros():
    D = np.array([[0.0, 2.0], [2.0, 0.0]])
    Y = classical_mds(D, n_components=3)
    assert Y.shape == (2, 3)
    np.testing.assert_allclose(np.sort(Y[:, 0]), [-1.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(Y[:, 1:], 0.0)
    assert classical_mds(np.zeros((0, 0))).shape == (0, 2)
    np.testing.assert_allclose(classical_mds(np.zeros((3, 3))), 0.0)


def test_missing_raise_is_the_default():
    X, D = planted(5)
    D[0, 1] = D[1, 0] = np.nan
    with pytest.raises(ValueError, match="missing='fill'"):
        classical_mds(D)
    D[0, 1] = D[1, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        classical_mds(D, missing="raise")


def test_fill_uses_the_other_triangle():
    # only the upper triangle given (as a long pair table gives seed_a < seed_b), NaN diagonal
    X, D = planted(7, seed=5)
    upper = np.where(np.triu(np.ones_like(D, dtype=bool), k=1), D, np.nan)
    assert count_missing_pairs(upper) == 0
    Y = classical_mds(upper, missing="fill")
    np.testing.assert_allclose(squareform(pdist(Y)), D, atol=1e-9)


def test_fill_recovers_planted_missing_distances():
    # four pairs unknown in both orders; a planar configuration of 10 points is still rigid, so
    # the completion must find the true distances of the missing pairs
    X, D = planted(10, seed=1)
    Dm = D.copy()
    missing = [(0, 1), (2, 5), (3, 9), (4, 7)]
    for i, j in missing:
        Dm[i, j] = Dm[j, i] = np.nan
    assert count_missing_pairs(Dm) == 4
    Y = classical_mds(Dm, missing="fill")
    DY = squareform(pdist(Y))
    for i, j in missing:
        assert DY[i, j] == pytest.approx(D[i, j], rel=1e-6)
    assert procrustes(X, Y)[2] < 1e-12
    # the given distances are kept (the input is not modified either)
    assert np.isnan(Dm[0, 1])


def test_fill_with_no_distances_at_all():
    D = np.full((3, 3), np.nan)
    assert count_missing_pairs(D) == 3
    np.testing.assert_allclose(classical_mds(D, missing="fill"), 0.0)


def test_fill_puts_a_point_without_distances_at_the_centre():
    X, D = planted(6, seed=2)
    D[5, :] = D[:, 5] = np.nan
    Y = classical_mds(D, missing="fill")
    # the others keep their configuration
    np.testing.assert_allclose(squareform(pdist(Y[:5])), D[:5, :5], atol=1e-8)
    np.testing.assert_allclose(Y[5], Y[:5].mean(axis=0), atol=1e-8)


def test_asymmetric_input_is_averaged():
    X, D = planted(6, seed=4)
    noise = np.triu(np.random.default_rng(0).uniform(-0.1, 0.1, D.shape), k=1)
    A = D + noise - noise.T  # D[i, j] + e and D[j, i] - e: the symmetric part is D
    np.testing.assert_allclose(squareform(pdist(classical_mds(A))), D, atol=1e-9)


@pytest.mark.parametrize(
    "D, kwargs, message",
    [
        (np.zeros((2, 3)), {}, "square"),
        (np.array([[0.0, -1.0], [-1.0, 0.0]]), {}, "negative"),
        (np.zeros((2, 2)), {"n_components": 0}, "n_components"),
        (np.zeros((2, 2)), {"missing": "mean"}, "missing"),
    ],
)
def test_invalid_input(D, kwargs, message):
    with pytest.raises(ValueError, match=message):
        classical_mds(D, **kwargs)
