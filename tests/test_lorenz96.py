"""Lorenz-96 task: the integrator against scipy's solve_ivp and closed forms, the sampler's
teacher-forced targets, its scaling and an OOD set outside the training states."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from degeneracy.tasks import TaskConfigError, make_task
from degeneracy.tasks.lorenz96 import (
    Lorenz96,
    attractor_states,
    lorenz96_rhs,
    rk4_integrate,
)

IMPORT_PATH = "degeneracy.tasks.lorenz96:Lorenz96"


def _rhs_loop(x, F):
    n = len(x)
    return np.array([(x[(i + 1) % n] - x[(i - 2) % n]) * x[(i - 1) % n] - x[i] + F for i in range(n)])


def _scipy(x0, F, t_eval):
    sol = solve_ivp(
        lambda t, x: _rhs_loop(x, F), (0.0, t_eval[-1]), x0, t_eval=t_eval, method="DOP853", rtol=1e-9, atol=1e-9
    )
    return sol.y.T


def test_rhs_matches_the_equation_written_out():
    x = torch.randn(3, 6, dtype=torch.float64)
    ref = np.stack([_rhs_loop(v, 8.0) for v in x.numpy()])
    assert np.allclose(lorenz96_rhs(x, 8.0).numpy(), ref, atol=1e-12)
    # x_i = F for all i is an equilibrium
    assert torch.allclose(
        lorenz96_rhs(torch.full((1, 5), 3.5, dtype=torch.float64), 3.5), torch.zeros(1, 5, dtype=torch.float64)
    )


@pytest.mark.parametrize("n_vars", [5, 9])
def test_rk4_matches_solve_ivp_with_fourth_order_convergence(n_vars):
    rng = np.random.default_rng(n_vars)
    x0 = 8.0 + rng.normal(size=n_vars)
    t = np.arange(21) * 0.05  # one model time unit
    ref = _scipy(x0, 8.0, t)
    errs, one_step = [], []
    for step in (0.025, 0.0125, 0.00625, 0.003125):  # the first is the task's default
        traj = rk4_integrate(torch.tensor(x0).unsqueeze(0), 8.0, 0.05, 21, max_step=step)[0].numpy()
        errs.append(np.abs(traj - ref).max())
        one_step.append(np.abs(traj[1] - ref[1]).max())
    assert np.allclose(traj[0], x0)
    assert one_step[0] < 1e-3  # per sample, the default step is accurate to ~1e-4 model units
    assert errs[-1] < 1e-4
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 10) & (ratios < 22))  # halving the step divides the error by ~2^4


def test_unforced_energy_decays_exactly_as_exp_minus_2t():
    # with F = 0 the quadratic term conserves sum x^2, so sum x^2 (t) = sum x^2 (0) exp(-2t)
    x0 = torch.randn(4, 7, dtype=torch.float64)
    traj = rk4_integrate(x0, 0.0, 0.1, 11)
    e = (traj**2).sum(-1)
    t = torch.arange(11, dtype=torch.float64) * 0.1
    assert torch.allclose(e, e[:, :1] * torch.exp(-2 * t), rtol=1e-6)


def test_targets_are_the_next_integrated_states():
    task = make_task(IMPORT_PATH, n_channels=2, n_vars=6, T=12, horizon=3)
    x, y, mask = task.sample(5, torch.Generator().manual_seed(1))
    assert x.shape == y.shape == mask.shape == (5, 12, 12) and bool((mask == 1).all())
    assert torch.equal(y[:, :-3], x[:, 3:])  # teacher forcing: target t is input t + horizon
    mean, sd = task.attractor_scale()
    state = x[:, -1].double().reshape(5 * 2, 6) * sd + mean  # last input, model units
    ahead = rk4_integrate(state, 8.0, 3 * 0.05, 2)[:, 1]
    assert torch.allclose(((ahead - mean) / sd).float(), y[:, -1].reshape(10, 6), atol=1e-4)
    assert not torch.allclose(x[:, :, :6], x[:, :, 6:])  # channels are independent systems


def test_training_states_are_standardised_and_reproducible():
    task = Lorenz96(n_vars=5)
    x, _, _ = task.sample(256, torch.Generator().manual_seed(0))
    assert abs(float(x.mean())) < 0.1 and abs(float(x.std()) - 1.0) < 0.1
    x2, _, _ = task.sample(256, torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)
    bank, mean, sd = attractor_states(5, 8.0)
    assert bank.shape[1] == 5 and abs(bank.mean().item() - mean) < 1e-12 and sd > 1


def test_ood_starts_outside_the_training_states():
    task = Lorenz96(n_vars=5, T=40)
    x, _, _ = task.sample(512, torch.Generator().manual_seed(0))
    xo, yo, _ = task.sample(512, torch.Generator().manual_seed(1), ood=True)
    assert xo.shape == x.shape == yo.shape
    lo, hi = float(x.min()), float(x.max())
    first = xo[:, 0]
    outside = ((first < lo) | (first > hi)).any(dim=1).float().mean()
    assert outside > 0.5  # most OOD trials open with a state no training trial visits
    assert abs(float(first.std()) - task.ood_scale) < 0.3
    # the transient relaxes onto the attractor: the last OOD steps are back to O(1)
    assert float(xo[:, -5:].std()) < 1.5


def test_bad_knobs_are_named():
    with pytest.raises(TaskConfigError, match="n_vars"):
        Lorenz96(n_vars=3)
    with pytest.raises(TaskConfigError, match="dt"):
        Lorenz96(dt=0.0)


def test_module_imports_without_torch():
    code = "import sys, degeneracy.tasks.lorenz96; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
