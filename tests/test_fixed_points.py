"""Fixed points: the step map against the real models, and hand-built networks whose fixed points
and eigenvalues are known in closed form or from scipy's root finder."""

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.optimize import brentq

from degeneracy.io import atomic_torch_save
from degeneracy.metrics.fixed_points import (
    SUMMARY_COLUMNS,
    classify_eigenvalues,
    find_fixed_points,
    fixed_point_summary,
    fixed_points_from_checkpoint,
    initial_states_from_trajectories,
    step_map,
)
from degeneracy.models import MuPRNN, StandardRNN
from degeneracy.training import train


def _standard(W, w_in=None, bias=None):
    n = len(W)
    m = StandardRNN(1, 1, n)
    with torch.no_grad():
        m.rnn.weight_hh_l0.copy_(torch.tensor(W, dtype=torch.float32))
        m.rnn.weight_ih_l0.copy_(torch.tensor(w_in if w_in is not None else np.zeros((n, 1)), dtype=torch.float32))
        m.rnn.bias_ih_l0.copy_(torch.tensor(bias if bias is not None else np.zeros(n), dtype=torch.float32))
        m.rnn.bias_hh_l0.zero_()
    return m.eval()


def _mup(J_over_N, tau, U=None):
    n = len(J_over_N)
    m = MuPRNN(1, 1, n, tau=tau)
    with torch.no_grad():
        m.J.copy_(torch.tensor(np.asarray(J_over_N) * n, dtype=torch.float32))
        m.U.copy_(torch.tensor(U if U is not None else np.zeros((n, 1)), dtype=torch.float32))
    return m.eval()


def _grid(low, high, k, n):
    axes = [np.linspace(low, high, k)] * n
    return np.array(list(itertools.product(*axes)))


@pytest.mark.parametrize("kind", ["standard", "mup"])
def test_step_map_iterates_reproduce_the_model_with_constant_input(kind):
    torch.manual_seed(3)
    m = StandardRNN(2, 1, 12) if kind == "standard" else MuPRNN(2, 1, 12, tau=0.3)
    x_const = torch.tensor([0.4, -0.7])
    x = x_const.expand(1, 15, 2).clone()
    with torch.no_grad():
        _, H = m(x)
    F, _ = step_map(m, x_const)
    h = torch.zeros(1, 12, dtype=torch.float64)
    for t in range(15):
        h = F(h)
        assert torch.allclose(h.float(), H[:, t], atol=1e-5)


@pytest.mark.parametrize("kind", ["standard", "mup"])
def test_jacobian_matches_autograd(kind):
    torch.manual_seed(4)
    m = StandardRNN(1, 1, 7) if kind == "standard" else MuPRNN(1, 1, 7, tau=0.2)
    F, jac = step_map(m, 0.3)
    h = torch.randn(3, 7, dtype=torch.float64)
    ref = torch.stack([torch.autograd.functional.jacobian(lambda v: F(v.unsqueeze(0))[0], h[b]) for b in range(3)])
    assert torch.allclose(jac(h), ref, atol=1e-12)


def test_two_bistable_units_give_nine_points_four_stable():
    # h_i' = tanh(2 h_i): per unit 0 (slope 2, unstable) and +-h* with h* = tanh(2 h*)
    hstar = brentq(lambda v: math.tanh(2 * v) - v, 0.5, 1.0)
    m = _standard([[2.0, 0.0], [0.0, 2.0]])
    fp = find_fixed_points(m, 0.0, _grid(-1.2, 1.2, 7, 2))
    expected = np.array(list(itertools.product([-hstar, 0.0, hstar], repeat=2)))
    assert len(fp) == 9
    D = np.linalg.norm(fp.positions[:, None] - expected[None], axis=2)
    assert D.min(1).max() < 1e-6 and D.min(0).max() < 1e-6
    slope = 2 * (1 - hstar**2)
    for pos, ev, label in zip(fp.positions, fp.eigenvalues, fp.labels):
        ref = np.sort([2.0 if abs(v) < 1e-6 else slope for v in pos])[::-1]
        assert np.allclose(np.sort(ev.real)[::-1], ref, atol=1e-6) and np.allclose(ev.imag, 0)
        assert label == ("stable" if np.all(np.abs(pos) > 0.5) else "saddle")
    assert fixed_point_summary(fp) == {
        "n_fixed_points": 9,
        "n_stable": 4,
        "n_saddle": 5,
        "n_line_attractor_like": 0,
        "frac_line_attractor_like": 0.0,
    }
    assert fp.q.max() < 1e-20


def test_input_shifts_the_fixed_point_as_scipy_root_finder_says():
    # one unit, h = tanh(1.5 h + 0.8 x + 0.1) with x = 0.5: a single stable root
    m = _standard([[1.5]], w_in=[[0.8]], bias=[0.1])
    root = brentq(lambda v: math.tanh(1.5 * v + 0.8 * 0.5 + 0.1) - v, -1, 1)
    fp = find_fixed_points(m, torch.tensor([0.5]), np.linspace(-1, 1, 21)[:, None])
    assert len(fp) == 1
    assert abs(fp.positions[0, 0] - root) < 1e-7
    assert abs(fp.eigenvalues[0, 0].real - 1.5 * (1 - root**2)) < 1e-6
    assert list(fp.labels) == ["stable"]


def test_mup_bistable_units_with_leak():
    # h' = h + tau(-h + 2 tanh(h)): roots 0 (eigenvalue 1 + tau) and +-r with r = 2 tanh(r)
    tau = 0.2
    r = brentq(lambda v: 2 * math.tanh(v) - v, 1.0, 3.0)
    m = _mup([[2.0, 0.0], [0.0, 2.0]], tau)
    fp = find_fixed_points(m, 0.0, _grid(-3, 3, 9, 2))
    assert fixed_point_summary(fp)["n_fixed_points"] == 9
    assert fixed_point_summary(fp)["n_stable"] == 4
    stable = fp.positions[fp.labels == "stable"]
    assert np.allclose(np.sort(np.abs(stable).ravel()), r, atol=1e-7)
    lam = 1 - tau + tau * 2 * (1 - math.tanh(r) ** 2)
    assert np.allclose(fp.eigenvalues[fp.labels == "stable"].real, lam, atol=1e-6)
    origin = np.argmin(np.linalg.norm(fp.positions, axis=1))
    assert np.allclose(fp.eigenvalues[origin], 1 + tau, atol=1e-6)


def test_linear_mode_with_eigenvalue_one_is_line_attractor_like():
    # W = diag(1, 0.5): the origin is the only fixed point (h = tanh(h) only at 0) and its
    # eigenvalues are exactly (1, 0.5). Along unit 0 the speed grows only as h^6, yet the
    # minimiser must still walk every probe down that slow line to the origin.
    m = _standard([[1.0, 0.0], [0.0, 0.5]])
    fp = find_fixed_points(m, 0.0, _grid(-0.8, 0.8, 9, 2), q_tol=1e-8, dedup_tol=1e-2)
    assert fixed_point_summary(fp) == {
        "n_fixed_points": 1,
        "n_stable": 0,
        "n_saddle": 0,
        "n_line_attractor_like": 1,
        "frac_line_attractor_like": 1.0,
    }
    assert np.abs(fp.positions).max() < 1e-2
    assert np.allclose(np.sort(fp.eigenvalues[0].real), [0.5, 1.0], atol=1e-4)
    # the same weights scaled to 0.8 have a strictly stable origin and no slow line
    fp2 = find_fixed_points(_standard([[0.8, 0.0], [0.0, 0.5]]), 0.0, _grid(-0.8, 0.8, 9, 2), q_tol=1e-8)
    assert list(fp2.labels) == ["stable"] and np.abs(fp2.positions).max() < 1e-8


def test_classify_planted_eigenvalues():
    ev = np.array(
        [
            [0.99, 0.5, 0.1],  # one slow mode, rest inside: line
            [1.02, 0.3, 0.0],  # one slow mode just outside: still line
            [0.99 + 0.01j, 0.99 - 0.01j, 0.2],  # two slow modes: not a line, all inside: stable
            [0.9, 0.5, 0.1],  # stable
            [1.5, 0.99, 0.1],  # an unstable direction: saddle
            [-1.2, 0.5, 0.1],  # saddle (flip instability)
        ]
    )
    assert list(classify_eigenvalues(ev, line_tol=0.05)) == [
        "line_attractor_like",
        "line_attractor_like",
        "stable",
        "stable",
        "saddle",
        "saddle",
    ]
    assert classify_eigenvalues(ev[:1], line_tol=0.005)[0] == "stable"


def test_no_point_below_q_tol_gives_nan_fraction():
    fp = find_fixed_points(_standard([[2.0]]), 0.0, np.array([[0.5]]), max_iter=0, q_tol=1e-12)
    s = fixed_point_summary(fp)
    assert s["n_fixed_points"] == 0 and math.isnan(s["frac_line_attractor_like"])


def test_initial_states_are_visited_states_plus_scaled_noise():
    H = torch.arange(12, dtype=torch.float64).reshape(2, 3, 2)
    exact = initial_states_from_trajectories(H, 50, noise=0.0, seed=0)
    rows = {tuple(r) for r in H.reshape(-1, 2).tolist()}
    assert all(tuple(r) in rows for r in exact.tolist())
    noisy = initial_states_from_trajectories(H, 4000, noise=0.5, seed=0)
    resid = noisy - initial_states_from_trajectories(H, 4000, noise=0.0, seed=0)
    assert abs(float(resid.std()) - 0.5 * float(H.std())) < 0.05 * float(H.std())


def test_checkpoint_row_on_hand_set_weights(tmp_path):
    cfg = {
        "task": {"name": "flipflop", "n_channels": 1, "T": 20},
        "model": {"kind": "standard", "n_units": 2},
        "training": {"batch_size": 4, "steps_per_epoch": 1, "max_epochs": 1, "device": "cpu"},
    }
    res = train(cfg, 0, tmp_path / "c.pt", tmp_path / "log.parquet")
    ckpt = torch.load(res.checkpoint_path, weights_only=True)
    ckpt["final_state"]["rnn.weight_hh_l0"] = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    ckpt["final_state"]["rnn.bias_hh_l0"] = torch.zeros(2)
    ckpt["final_state"]["rnn.bias_ih_l0"] = torch.zeros(2)
    ckpt["final_state"]["rnn.weight_ih_l0"] = torch.tensor([[1.0], [-1.0]])
    atomic_torch_save(ckpt, tmp_path / "c.pt")
    row = fixed_points_from_checkpoint(tmp_path / "c.pt", {"n_trials": 8, "seed": 5}, n_init=256, noise=1.0)
    assert list(row.columns) == list(SUMMARY_COLUMNS)
    assert row.iloc[0].to_dict() == {
        "n_fixed_points": 9,
        "n_stable": 4,
        "n_saddle": 5,
        "n_line_attractor_like": 0,
        "frac_line_attractor_like": 0.0,
    }
