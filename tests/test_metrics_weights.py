"""Permutation-invariant weight distance: planted permutations and the unaligned bound."""

import numpy as np
import pytest
from scipy.optimize import quadratic_assignment

from degeneracy.metrics.weights import (
    PAIR_KEYS,
    _random_doubly_stochastic,
    faq,
    pair_seed,
    pairwise_weight_distances,
    permutation_distance,
)


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


@pytest.mark.parametrize("case", ["unrelated", "planted", "low_rank"])
def test_faq_matches_scipy_quadratic_assignment(case):
    """Our incremental FAQ loop takes the same iterates as scipy's: same permutation, same
    iteration count, from the barycenter and from random doubly-stochastic starts."""
    n = 48
    rng = np.random.default_rng(7)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    if case == "unrelated":
        B = rng.standard_normal((n, n)) / np.sqrt(n)
    elif case == "planted":
        p = rng.permutation(n)
        B = A[np.ix_(p, p)] + 0.8 * rng.standard_normal((n, n)) / np.sqrt(n)
    else:
        U = rng.standard_normal((n, 3))
        A = U @ U.T / n + 0.1 * A
        B = A[::-1, ::-1] + 0.05 * rng.standard_normal((n, n))
    # scipy checks a given P0 to allclose precision: scale the random starts that far
    starts = [np.full((n, n), 1.0 / n)] + [_random_doubly_stochastic(n, rng, tol=1e-12) for _ in range(3)]
    for P0, maxiter in zip(starts, [30, 30, 10, 3]):
        ref = quadratic_assignment(A, B, method="faq", options={"P0": P0, "maximize": True, "maxiter": maxiter})
        perm, nit = faq(A, B, P0, maxiter=maxiter)
        assert np.array_equal(perm, ref.col_ind)
        assert nit == ref.nit


def test_random_start_is_doubly_stochastic():
    P = _random_doubly_stochastic(20, np.random.default_rng(0))
    assert (P > 0).all()
    np.testing.assert_allclose(P.sum(0), 1, atol=1e-3)
    np.testing.assert_allclose(P.sum(1), 1, atol=1e-3)


def test_pairwise_never_above_unaligned_and_consistent():
    rng = np.random.default_rng(0)
    n = 24
    base = rng.standard_normal((n, n))
    mats = []
    for k in range(5):
        P = np.eye(n)[rng.permutation(n)]
        mats.append(P @ base @ P.T + 0.3 * k * rng.standard_normal((n, n)))
    mats.append(np.eye(n))  # a matrix for which the identity is optimal-ish
    kw = dict(n_restarts=2, tabu_iters=20)
    labels = [11, 3, 7, 20, 5, 8]  # network seeds, not in order
    out = pairwise_weight_distances(mats, seed=0, n_jobs=1, labels=labels, **kw)
    assert set(out) == set(PAIR_KEYS)
    al, un = out["aligned"], out["unaligned"]
    assert al.shape == (6, 6)
    assert np.all(al <= un + 1e-12)
    for key in PAIR_KEYS:
        np.testing.assert_array_equal(out[key], out[key].T)
        assert np.all(np.diag(out[key]) == 0)
    np.testing.assert_allclose(out["aligned_per_n2"], al / n**2)
    # pairs of the same base are much closer after alignment
    assert al[0, 1] < 0.5 * un[0, 1]
    # each entry is the documented single-pair call: seed [seed, smaller label, larger label],
    # matrices in label order (labels 11 and 7 -> the call on (mats[2], mats[0]))
    assert pair_seed(0, 11, 7) == [0, 7, 11]
    r = permutation_distance(mats[2], mats[0], seed=[0, 7, 11], **kw)
    assert al[0, 2] == r["aligned"]
    assert out["gap"][0, 2] == r["gap"] and out["scale_free"][0, 2] == r["scale_free"]
    # a pair's value does not depend on the other networks of the set
    sub = pairwise_weight_distances([mats[0], mats[2]], seed=0, n_jobs=1, labels=[11, 7], **kw)
    assert sub["aligned"][0, 1] == al[0, 2]
    # process pool gives identical results
    out2 = pairwise_weight_distances(mats, seed=0, n_jobs=2, labels=labels, **kw)
    for key in PAIR_KEYS:
        np.testing.assert_array_equal(out2[key], out[key])
    with pytest.raises(ValueError, match="distinct"):
        pairwise_weight_distances(mats, labels=[1, 1, 2, 3, 4, 5])


def test_weight_input_errors_and_too_few():
    with pytest.raises(ValueError, match="same shape"):
        permutation_distance(np.eye(3), np.eye(4))
    with pytest.raises(ValueError, match="square"):
        permutation_distance(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="same shape"):
        pairwise_weight_distances([np.eye(3), np.eye(4)])
    out = pairwise_weight_distances([np.eye(3)])
    assert set(out) == set(PAIR_KEYS)
    assert np.isnan(out["aligned"]).all() and out["aligned"].shape == (1, 1)


def test_pairwise_activity_follows_the_label_order():
    """With labels out of order the pair runs as (smaller label, larger label): the matrices and
    their activities are swapped together."""
    rng = np.random.default_rng(3)
    n = 16
    mats = [rng.standard_normal((n, n)) for _ in range(2)]
    acts = [rng.standard_normal((40, n)) for _ in range(2)]
    kw = dict(n_restarts=1, tabu_iters=10)
    out = pairwise_weight_distances(mats, seed=2, n_jobs=1, labels=[9, 4], activities=acts, **kw)
    r = permutation_distance(mats[1], mats[0], seed=[2, 4, 9], activity=(acts[1], acts[0]), **kw)
    assert out["aligned"][0, 1] == r["aligned"]
    with pytest.raises(ValueError, match="activities"):
        pairwise_weight_distances(mats, activities=acts[:1])
