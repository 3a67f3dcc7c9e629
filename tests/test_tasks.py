"""Task generators checked against independent step-by-step computations."""

import numpy as np
import pytest
import torch

from degeneracy.tasks import TASKS, TaskConfigError, make_task, probe_batch


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_flipflop_targets_follow_last_pulse_plain_loop():
    task = make_task("flipflop", n_channels=3, T=60, p_switch=0.1)
    x, y, mask = task.sample(16, gen())
    assert x.shape == y.shape == mask.shape == (16, 60, 3)
    xs, ys = x.numpy(), y.numpy()
    for b in range(16):
        for c in range(3):
            state = 0.0
            for t in range(60):
                if xs[b, t, c] != 0:
                    state = xs[b, t, c]
                assert ys[b, t, c] == state
    assert set(np.unique(xs)) <= {-1.0, 0.0, 1.0}
    assert (xs[:, 0] != 0).all(), "a pulse is forced at t=0"
    assert torch.all(mask == 1)


def test_flipflop_pulse_rate_matches_p_switch():
    x, _, _ = make_task("flipflop", n_channels=4, p_switch=0.05).sample(512, gen(1))
    rate = (x[:, 1:] != 0).float().mean().item()
    assert abs(rate - 0.05) < 0.005


def test_sine_targets_numpy():
    task = make_task("sine", n_channels=2, T=80, n_freq=5)
    x, y, mask = task.sample(32, gen())
    f = (x[:, 0, :].numpy().astype(np.float64) - 0.25) * 30.0
    allowed = np.linspace(1.0, 30.0, 5)
    assert np.abs(f[..., None] - allowed).min(-1).max() < 1e-4
    assert np.allclose(x.numpy(), x[:, :1].numpy()), "input is static"
    t = np.arange(80)
    expected = np.sin(2 * np.pi * np.round(f, 4)[:, None, :] * t[None, :, None] * 0.005)
    assert np.abs(y.numpy() - expected).max() < 1e-3
    assert torch.all(mask == 1)


def _reflect(p, L):
    return np.where(p > L, 2 * L - p, np.where(p < -L, -2 * L - p, p))


@pytest.mark.parametrize("dim", [2, 3])
def test_path_integration_step_by_step_with_reflection(dim):
    task = make_task("path_integration", n_channels=2, dim=dim, T=120, speed_max=0.5)
    x, y, mask = task.sample(32, gen(3))
    k = task.inputs_per_channel
    xs = x.numpy().astype(np.float64).reshape(32, 120, 2, k)
    ys = y.numpy().astype(np.float64).reshape(32, 120, 2, dim)
    pos = xs[:, 0, :, :dim]
    assert np.allclose(ys[:, 0], pos, atol=1e-6)
    assert np.all(xs[:, 1:, :, :dim] == 0), "start position only on step 0"
    hits = 0
    for t in range(1, 120):
        c_th, s_th = xs[:, t, :, dim], xs[:, t, :, dim + 1]
        speed = xs[:, t, :, -1]
        if dim == 2:
            u = np.stack([c_th, s_th], -1)
        else:
            c_ph, s_ph = xs[:, t, :, dim + 2], xs[:, t, :, dim + 3]
            u = np.stack([c_ph * c_th, c_ph * s_th, s_ph], -1)
        raw = pos + speed[..., None] * u
        hits += int((np.abs(raw) > 5).sum())
        pos = _reflect(raw, 5.0)
        assert np.abs(ys[:, t] - pos).max() < 1e-4
    assert hits > 0, "the walls were exercised"
    assert np.abs(ys).max() <= 5.0 + 1e-6
    assert xs[..., -1].max() <= 0.5 and xs[..., -1].min() >= 0
    assert torch.all(mask == 1)


@pytest.mark.parametrize("auxiliary", [False, True])
def test_delayed_discrimination_sign_rule_and_mask(auxiliary):
    task = make_task("delayed_discrimination", n_channels=2, auxiliary=auxiliary, delay_min=3, delay_max=9)
    x, y, mask = task.sample(64, gen(4))
    T = 5 + 2 * 5 + 9 + 10
    assert x.shape == (64, T, 2) and y.shape == mask.shape == (64, T, 4 if auxiliary else 2)
    for b in range(64):
        for c in range(2):
            xi = x[b, :, c].numpy()
            on = np.flatnonzero(xi != 0)
            first, second = on[on < 10], on[on >= 10]
            assert len(first) == 5 and len(second) == 5
            f1, f2 = xi[first[0]] / 0.1, xi[second[0]] / 0.1
            assert 2 <= f1 <= 10 and 2 <= f2 <= 10 and abs(f2 - f1) >= 1 - 1e-5
            delay = second[0] - (first[-1] + 1)
            assert 3 <= delay <= 9
            window = np.arange(second[-1] + 1, second[-1] + 11)
            expected = np.zeros(T)
            expected[window] = np.sign(f2 - f1)
            assert np.array_equal(y[b, :, c].numpy(), expected)
            m = np.zeros(T)
            m[window] = 1
            assert np.array_equal(mask[b, :, c].numpy(), m)
            if auxiliary:
                aux = y[b, :, 2 + c].numpy()
                assert np.allclose(aux[window], (f2 - f1) / 8, atol=1e-5)
                assert np.all(aux[np.setdiff1d(np.arange(T), window)] == 0)


def test_delayed_discrimination_unmasked_counts_every_step():
    _, y, mask = make_task("delayed_discrimination", mask_response=False).sample(8, gen())
    assert torch.all(mask == 1) and (y == 0).any()


def test_ood_changes_exactly_length_or_delay():
    for name in ("flipflop", "sine", "path_integration"):
        task = make_task(name)
        x, y, m = task.sample(4, gen())
        xo, yo, mo = task.sample(4, gen(), ood=True)
        assert xo.shape[1] == 2 * x.shape[1] and yo.shape[2] == y.shape[2]
    dd = make_task("delayed_discrimination", delay_min=5, delay_max=20)
    xo, _, _ = dd.sample(256, gen(), ood=True)
    assert xo.shape[1] == 5 + 10 + 40 + 10
    delays = []
    for b in range(256):
        on = np.flatnonzero(xo[b, :, 0].numpy() != 0)
        first_end = on[on < 10][-1]
        delays.append(on[on >= 10][0] - first_end - 1)
    assert min(delays) >= 10 and max(delays) <= 40 and max(delays) > 30
    # every other knob is untouched: pulse lengths and the response window stay
    assert dd.trial_length(ood=False) == 5 + 10 + 20 + 10


def test_same_generator_seed_same_batch():
    for name in TASKS:
        task = make_task(name)
        a = task.sample(8, gen(7))
        b = task.sample(8, gen(7))
        assert all(torch.equal(p, q) for p, q in zip(a, b))
        assert torch.equal(probe_batch(task, 4, 11)[0], probe_batch(task, 4, 11)[0])


def test_channels_are_the_complexity_knob():
    for name in TASKS:
        one, three = make_task(name, n_channels=1), make_task(name, n_channels=3)
        assert three.n_inputs == 3 * one.n_inputs and three.n_outputs == 3 * one.n_outputs


@pytest.mark.parametrize(
    "name,knobs,fragment",
    [
        ("flopflip", {}, "valid tasks"),
        ("flipflop", {"n_channels": 0}, "n_channels=0"),
        ("delayed_discrimination", {"delay_min": 9, "delay_max": 3}, "delay_min <= delay_max"),
        ("path_integration", {"dim": 4}, r"one of \[2, 3\]"),
        ("sine", {"n_freqs": 3}, "valid knobs"),
        ("sine", {"n_freq": 0}, "n_freq=0"),
    ],
)
def test_invalid_task_or_knob_names_the_problem(name, knobs, fragment):
    with pytest.raises(TaskConfigError, match=fragment):
        make_task(name, **knobs)
