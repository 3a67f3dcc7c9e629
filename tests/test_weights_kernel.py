"""The compiled swap searches (metrics/_qap.c) against independent references: exhaustive
enumeration of every permutation, every single swap evaluated from scratch, and the numpy
implementation of the same searches."""

import itertools

import numpy as np
import pytest

from degeneracy.metrics import _qap, weights
from degeneracy.metrics.weights import permutation_distance, tabu_search, two_opt


def _f(A, B, p):
    return float((A * B[np.ix_(p, p)]).sum())


def test_the_kernel_is_built():
    # `pip install -e .` compiles _qap.c; without it the swap searches run 9-18x slower in numpy
    assert _qap.kernel() is not None, (
        "degeneracy.metrics._qapc not built: reinstall with a C compiler (pip install -e .)"
    )


@pytest.mark.parametrize("n", [2, 3, 9, 33])
def test_two_opt_ends_where_no_single_swap_improves(n):
    rng = np.random.default_rng(n)
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))  # asymmetric
    start = rng.permutation(n)
    p = two_opt(A, B, start, compiled=True)
    assert sorted(p) == list(range(n))
    f = _f(A, B, p)
    assert f >= _f(A, B, start) - 1e-12
    tol = weights._TOL * np.linalg.norm(A) * np.linalg.norm(B)
    for r, s in itertools.combinations(range(n), 2):  # every swap, its objective from scratch
        q = p.copy()
        q[[r, s]] = q[[s, r]]
        assert _f(A, B, q) <= f + tol + 1e-9, (r, s)


@pytest.mark.parametrize("n,seed", [(4, 0), (6, 1), (7, 2), (7, 3)])
def test_tabu_finds_the_exhaustive_optimum_of_small_problems(n, seed):
    rng = np.random.default_rng(seed)
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    best = max(_f(A, B, np.array(q)) for q in itertools.permutations(range(n)))
    p, f = tabu_search(A, B, rng.permutation(n), 300, np.random.default_rng(seed), compiled=True)
    assert f[0] == pytest.approx(best, rel=1e-12)
    assert f[0] == pytest.approx(_f(A, B, p[0]), rel=1e-12)  # the returned value is exact


@pytest.mark.parametrize("n", [5, 12, 40])
def test_compiled_and_numpy_searches_take_the_same_swaps(n):
    rng = np.random.default_rng(100 + n)
    A, B = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    starts = np.stack([rng.permutation(n) for _ in range(3)])
    p_c = two_opt(A, B, starts[0], compiled=True)
    p_n = two_opt(A, B, starts[0], compiled=False)
    np.testing.assert_array_equal(p_c, p_n)
    q_c, f_c = tabu_search(A, B, starts, 400, np.random.default_rng(7), compiled=True)
    q_n, f_n = tabu_search(A, B, starts, 400, np.random.default_rng(7), compiled=False)
    np.testing.assert_array_equal(q_c, q_n)
    np.testing.assert_allclose(f_c, f_n, rtol=1e-12)


def test_without_the_kernel_the_numpy_search_gives_the_same_distance(monkeypatch):
    rng = np.random.default_rng(3)
    n = 16
    A = rng.standard_normal((n, n))
    B = A[np.ix_(rng.permutation(n), rng.permutation(n))] + 0.3 * rng.standard_normal((n, n))
    kw = dict(n_restarts=3, tabu_iters=200, seed=[0, 1, 2])
    built = permutation_distance(A, B, **kw)
    monkeypatch.setattr(weights, "kernel", lambda: None)
    with pytest.warns(RuntimeWarning, match="not built"):
        fallback = permutation_distance(A, B, **kw)
    assert fallback["aligned"] == pytest.approx(built["aligned"], rel=1e-12)
    np.testing.assert_array_equal(fallback["perm"], built["perm"])
    with pytest.raises(RuntimeError, match="not built"):
        two_opt(A, B, np.arange(n), compiled=True)
