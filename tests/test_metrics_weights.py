"""Permutation-invariant weight distance: planted permutations and the unaligned bound."""

import numpy as np
import pytest

from degeneracy.metrics.weights import pairwise_weight_distances, permutation_distance


def planted(n, noise, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    p = rng.permutation(n)
    P = np.eye(n)[p]
    N = rng.standard_normal((n, n)) / np.sqrt(n)
    B = P.T @ A @ P + noise * N  # B = P' A P'^T + noise, noise/signal = noise
    return A, B, p, N


@pytest.mark.parametrize("n", [32, 64, 128])
@pytest.mark.parametrize("noise", [0.0, 0.25, 0.5])
def test_exact_recovery_of_planted_permutation(n, noise):
    A, B, p, N = planted(n, noise, seed=n + int(100 * noise))
    r = permutation_distance(A, B, n_restarts=2, seed=0)
    q = r["perm"]
    # exact recovery: B[q, q] undoes the planted permutation
    np.testing.assert_allclose(B[np.ix_(q, q)], A + noise * N[np.ix_(q, q)], atol=1e-12)
    assert np.array_equal(q, p)  # (P^T A P)[p, p] = A
    np.testing.assert_allclose(r["aligned"], noise * np.linalg.norm(N), rtol=1e-10, atol=1e-12)
    assert r["aligned"] <= r["unaligned"]
    assert r["aligned_per_n2"] == pytest.approx(r["aligned"] / n**2)
    assert r["unaligned"] == pytest.approx(np.linalg.norm(A - B))


def test_pairwise_never_above_unaligned_and_consistent():
    rng = np.random.default_rng(0)
    n = 24
    base = rng.standard_normal((n, n))
    mats = []
    for k in range(5):
        P = np.eye(n)[rng.permutation(n)]
        mats.append(P @ base @ P.T + 0.3 * k * rng.standard_normal((n, n)))
    mats.append(np.eye(n))  # a matrix for which the identity is optimal-ish
    out = pairwise_weight_distances(mats, n_restarts=2, seed=0, n_jobs=1)
    al, un = out["aligned"], out["unaligned"]
    assert al.shape == (6, 6)
    assert np.all(al <= un + 1e-12)
    np.testing.assert_array_equal(al, al.T)
    assert np.all(np.diag(al) == 0) and np.all(np.diag(un) == 0)
    np.testing.assert_allclose(out["aligned_per_n2"], al / n**2)
    # pairs of the same base are much closer after alignment
    assert al[0, 1] < 0.5 * un[0, 1]
    # each entry equals the single-pair call with the same per-pair seed
    r = permutation_distance(mats[0], mats[2], n_restarts=2, seed=0 + 1000003 * 0 + 2)
    assert al[0, 2] == pytest.approx(r["aligned"])
    # process pool gives identical results
    out2 = pairwise_weight_distances(mats, n_restarts=2, seed=0, n_jobs=2)
    np.testing.assert_array_equal(out2["aligned"], al)


def test_weight_input_errors_and_too_few():
    with pytest.raises(ValueError, match="same shape"):
        permutation_distance(np.eye(3), np.eye(4))
    with pytest.raises(ValueError, match="square"):
        permutation_distance(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="same shape"):
        pairwise_weight_distances([np.eye(3), np.eye(4)])
    out = pairwise_weight_distances([np.eye(3)])
    assert np.isnan(out["aligned"]).all() and out["aligned"].shape == (1, 1)
