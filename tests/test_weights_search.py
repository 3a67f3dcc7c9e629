"""The search pieces of the weight distance, each against an independent reference: swap gains
and 2-opt against direct evaluation, tabu search and the full distance against exhaustive
enumeration of all permutations, the activity matching against a planted permutation, and the
gap estimate on problems whose answer is known."""

import itertools

import numpy as np
import pytest

from degeneracy.metrics.weights import (
    _swap_gains,
    activity_matching,
    permutation_distance,
    tabu_search,
    two_opt,
)


def objective(A, B, p):
    return float((A * B[np.ix_(p, p)]).sum())


def brute_force(A, B):
    """(min distance, max objective) over all n! permutations."""
    n = len(A)
    P = np.array(list(itertools.permutations(range(n))))
    f = (A[None] * B[P[:, :, None], P[:, None, :]]).sum(axis=(1, 2))
    k = int(np.argmax(f))
    return float(np.linalg.norm(A - B[np.ix_(P[k], P[k])])), float(f[k])


def test_swap_gains_equal_direct_evaluation():
    rng = np.random.default_rng(0)
    n = 12
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    p = rng.permutation(n)
    C = B[np.ix_(p, p)]
    Sa = A + A.T - np.diag(A)[:, None] - np.diag(A)[None, :]
    D = _swap_gains(A, Sa, C, A @ C.T + A.T @ C)
    f0 = objective(A, B, p)
    for r in range(n):
        for s in range(n):
            q = p.copy()
            q[[r, s]] = q[[s, r]]
            assert D[r, s] == pytest.approx(objective(A, B, q) - f0, abs=1e-10)


def test_two_opt_ends_where_no_swap_improves():
    rng = np.random.default_rng(1)
    n = 15
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    p0 = rng.permutation(n)
    p = two_opt(A, B, p0)
    assert sorted(p) == list(range(n))
    f = objective(A, B, p)
    assert f >= objective(A, B, p0)
    for r, s in itertools.combinations(range(n), 2):
        q = p.copy()
        q[[r, s]] = q[[s, r]]
        assert objective(A, B, q) <= f + 1e-10


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tabu_search_finds_the_exhaustive_optimum(seed):
    """n = 7 (5,040 permutations): tabu search from random starts reaches the global optimum,
    which plain 2-opt from the same starts does not always do."""
    rng = np.random.default_rng(seed)
    n = 7
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    _, fmax = brute_force(A, B)
    starts = np.stack([rng.permutation(n) for _ in range(3)])
    perms, fvals = tabu_search(A, B, starts, 200, np.random.default_rng(0))
    assert perms.shape == (3, n)
    for p, f in zip(perms, fvals):
        assert sorted(p) == list(range(n))
        assert f == pytest.approx(objective(A, B, p), abs=1e-10)  # reported value is exact
    assert fvals.max() == pytest.approx(fmax, abs=1e-10)


def test_tabu_search_never_ends_below_its_start_and_is_seeded():
    rng = np.random.default_rng(3)
    n = 40
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    starts = np.stack([two_opt(A, B, rng.permutation(n)) for _ in range(2)])
    p1, f1 = tabu_search(A, B, starts, 150, np.random.default_rng(5))
    p2, f2 = tabu_search(A, B, starts, 150, np.random.default_rng(5))
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(f1, f2)
    for s, f in zip(starts, f1):
        assert f >= objective(A, B, s) - 1e-10
    # from a 2-opt local optimum the walk must leave the basin to improve: it does here
    assert (f1 > np.array([objective(A, B, s) for s in starts]) + 1e-9).any()


@pytest.mark.parametrize("seed", [0, 1])
def test_distance_equals_exhaustive_minimum_small_n(seed):
    rng = np.random.default_rng(10 + seed)
    n = 8
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    dmin, _ = brute_force(A, B)
    r = permutation_distance(A, B, n_restarts=4, seed=seed, tabu_iters=100)
    assert r["aligned"] == pytest.approx(dmin, rel=1e-12)
    p = r["perm"]
    assert r["aligned"] == pytest.approx(np.linalg.norm(A - B[np.ix_(p, p)]), rel=1e-12)


def test_activity_matching_recovers_planted_units():
    rng = np.random.default_rng(4)
    trials, time, n = 8, 30, 20
    H1 = np.tanh(rng.standard_normal((trials, time, n)).cumsum(axis=1) / 5)
    perm = rng.permutation(n)
    # unit i of network 1 is unit perm[i] of network 2 (scaled, shifted, a little noise)
    H2 = np.empty_like(H1)
    H2[..., perm] = 2.0 * H1 + 0.5 + 0.05 * rng.standard_normal(H1.shape)
    np.testing.assert_array_equal(activity_matching(H1, H2), perm)
    # a constant unit correlates with nothing and does not break the assignment
    H2[..., perm[0]] = 1.0
    assert np.isfinite(activity_matching(H1, H2)).all()
    with pytest.raises(ValueError, match="same shape"):
        activity_matching(H1, H2[:2])


def test_activity_start_is_used():
    """A planted permutation hidden from FAQ (one random start, 1 iteration, no barycenter
    advantage at this noise) is found from the activity matching."""
    rng = np.random.default_rng(5)
    n = 48
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    perm = rng.permutation(n)
    B = np.empty_like(A)
    B[np.ix_(perm, perm)] = A  # B[perm, perm] = A
    B += 1.5 * rng.standard_normal((n, n)) / np.sqrt(n)  # noise/signal 1.5: FAQ alone fails
    H1 = rng.standard_normal((4, 25, n))
    H2 = np.empty_like(H1)
    H2[..., perm] = H1
    planted = float(np.linalg.norm(A - B[np.ix_(perm, perm)]))
    kw = dict(n_restarts=0, n_polish=1, tabu_iters=0, seed=0)
    without = permutation_distance(A, B, **kw)
    with_act = permutation_distance(A, B, activity=(H1, H2), **kw)
    assert with_act["aligned"] <= planted + 1e-12
    assert without["aligned"] > planted * 1.05


def test_gap_zero_on_a_planted_permutation_and_defined_otherwise():
    rng = np.random.default_rng(6)
    n = 32
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    p = rng.permutation(n)
    B = A[np.ix_(p, p)] + 0.1 * rng.standard_normal((n, n)) / np.sqrt(n)
    r = permutation_distance(A, B, n_restarts=4, seed=0, tabu_iters=50)
    assert r["gap"] == 0.0  # every search ends in the planted optimum
    # unrelated matrices: a rugged landscape, the searches end apart
    U = rng.standard_normal((n, n)) / np.sqrt(n)
    r = permutation_distance(A, U, n_restarts=4, seed=0, tabu_iters=20)
    assert 0.0 <= r["gap"] < 1.0
    assert np.isnan(permutation_distance(A, U, n_restarts=2, n_polish=1, tabu_iters=5)["gap"])
    # identical matrices: distance 0 is provably optimal
    assert permutation_distance(A, A, n_restarts=1, tabu_iters=5)["gap"] == 0.0


def test_scale_free_is_aligned_over_rms_norm():
    rng = np.random.default_rng(7)
    A, B = rng.standard_normal((10, 10)), 3.0 * rng.standard_normal((10, 10))
    r = permutation_distance(A, B, n_restarts=2, tabu_iters=10)
    rms = np.sqrt((np.sum(A**2) + np.sum(B**2)) / 2)
    assert r["scale_free"] == pytest.approx(r["aligned"] / rms)
    # invariant to a common scale of both matrices, unlike the aligned distance
    r5 = permutation_distance(5 * A, 5 * B, n_restarts=2, tabu_iters=10)
    assert r5["scale_free"] == pytest.approx(r["scale_free"])
    assert r5["aligned"] == pytest.approx(5 * r["aligned"])


def test_tabu_incremental_gains_equal_exact_recomputation():
    """The O(n^2) rank-4 update of the swap gains is exact: recomputing everything every
    iteration (refresh=1) walks the same path as never recomputing."""
    rng = np.random.default_rng(8)
    n = 20
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    starts = np.stack([rng.permutation(n) for _ in range(3)])
    p_inc, f_inc = tabu_search(A, B, starts, 300, np.random.default_rng(1), refresh=10**9)
    p_ref, f_ref = tabu_search(A, B, starts, 300, np.random.default_rng(1), refresh=1)
    np.testing.assert_array_equal(p_inc, p_ref)
    np.testing.assert_allclose(f_inc, f_ref, rtol=1e-12)
