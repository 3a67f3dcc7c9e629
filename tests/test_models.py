"""Models: fused kernels against plain autograd, the small-gamma remedy, the muP coordinate check."""

import pytest
import torch

from degeneracy.models import MuPRNN, StandardRNN, build_model, model_from_checkpoint
from degeneracy.tasks import make_task
from degeneracy.training import masked_mse


def test_standard_fused_equals_step_loop():
    torch.manual_seed(0)
    m = StandardRNN(3, 2, 16)
    x = torch.randn(4, 25, 3)
    y, h = m(x)
    y2, h2 = m.forward_loop(x)
    assert torch.allclose(y, y2, atol=1e-6) and torch.allclose(h, h2, atol=1e-6)
    assert m.recurrent_matrix() is m.rnn.weight_hh_l0


def test_mup_fused_forward_and_gradients_equal_autograd_loop():
    torch.manual_seed(1)
    m = MuPRNN(3, 2, 32, gamma=0.5, readout_init="normal")
    x = torch.randn(5, 40, 3)
    g = torch.randn(5, 40, 2)
    y, h = m(x)
    (y * g).sum().backward()
    grads = {k: p.grad.clone() for k, p in m.named_parameters()}
    m.zero_grad()
    m.fused = False
    y2, h2 = m(x)
    (y2 * g).sum().backward()
    assert torch.allclose(y, y2, atol=1e-6) and torch.allclose(h, h2, atol=1e-5)
    for k, p in m.named_parameters():
        assert torch.allclose(grads[k], p.grad, rtol=1e-4, atol=1e-6 * p.grad.abs().max().item()), k


def test_mup_leaky_update_by_hand():
    torch.manual_seed(2)
    m = MuPRNN(1, 1, 4, tau=0.1)
    x = torch.randn(1, 3, 1)
    _, H = m(x)
    J, U, N = m.J.detach(), m.U.detach(), 4
    h = torch.zeros(4)
    for t in range(3):
        h = h + 0.1 * (-h + J @ torch.tanh(h) / N + U @ x[0, t])
        assert torch.allclose(H[0, t], h, atol=1e-5)
    assert torch.allclose(m.recurrent_matrix(), J / N)


def test_small_gamma_remedy_zero_readout():
    x = torch.randn(8, 20, 1)
    for gamma in (1e-3, 1.0):
        m = build_model(
            {"kind": "mup", "n_units": 64, "gamma": gamma, "tau": 0.1, "readout_init": "zero"}, 1, 1, seed=0
        )
        assert torch.all(m(x)[0] == 0), "zero readout: initial output 0 at every gamma"
    scales = []
    for gamma in (1e-2, 1.0):
        m = build_model(
            {"kind": "mup", "n_units": 64, "gamma": gamma, "tau": 0.1, "readout_init": "normal"}, 1, 1, seed=0
        )
        scales.append(m(x)[0].pow(2).mean().sqrt().item())
    assert scales[0] > 50 * scales[1], "without the remedy the initial output grows as 1/gamma"


def _scales_after_steps(kind, n, steps=4, lr=0.02, gamma=1.0, seed=0):
    task = make_task("flipflop", n_channels=2, T=30)
    cfg = {"kind": kind, "n_units": n, "gamma": gamma, "tau": 0.1, "readout_init": "zero"}
    m = build_model(cfg, task.n_inputs, task.n_outputs, seed)
    W0 = m.recurrent_matrix().detach().clone()
    opt = torch.optim.Adam(m.parameters(), lr=lr * (gamma if kind == "mup" else 1.0))
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x, y, mask = task.sample(16, g)
        loss = masked_mse(m(x)[0], y, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, _, _ = task.sample(16, torch.Generator().manual_seed(99))
    with torch.no_grad():
        y, h = m(x)
    dW = (m.recurrent_matrix().detach() - W0).norm().item()
    return h.pow(2).mean().sqrt().item(), y.pow(2).mean().sqrt().item(), dW


def test_mup_coordinate_check_across_widths():
    widths = (64, 256, 1024)
    mup = [_scales_after_steps("mup", n) for n in widths]
    std = [_scales_after_steps("standard", n) for n in widths]
    for level in (0, 1):  # hidden, output
        vals = [s[level] for s in mup]
        assert max(vals) / min(vals) < 1.5, (level, vals)
    out_std = [s[1] for s in std]
    assert max(out_std) / min(out_std) > 1.5, out_std


def test_recurrent_weight_change_grows_with_gamma():
    changes = [_scales_after_steps("mup", 128, gamma=g)[2] for g in (0.01, 0.1, 1.0)]
    assert changes[0] < changes[1] < changes[2], changes


def test_build_model_is_seeded_and_leaves_global_rng_alone():
    torch.manual_seed(5)
    before = torch.rand(1)
    torch.manual_seed(5)
    a = build_model({"kind": "standard", "n_units": 8}, 1, 1, seed=3)
    after = torch.rand(1)
    b = build_model({"kind": "standard", "n_units": 8}, 1, 1, seed=3)
    c = build_model({"kind": "standard", "n_units": 8}, 1, 1, seed=4)
    assert torch.equal(before, after)
    assert torch.equal(a.recurrent_matrix(), b.recurrent_matrix())
    assert not torch.equal(a.recurrent_matrix(), c.recurrent_matrix())


def test_invalid_model_kind():
    with pytest.raises(ValueError, match="standard"):
        build_model({"kind": "lstm", "n_units": 8}, 1, 1, seed=0)
    with pytest.raises(ValueError, match="which"):
        model_from_checkpoint({}, which="middle")


def _recurrent(kind, task, seed, n=16):
    cfg = {"kind": kind, "n_units": n, "gamma": 1.0, "tau": 0.1, "readout_init": "zero"}
    return build_model(cfg, task.n_inputs, task.n_outputs, seed).recurrent_parameter().detach().clone()


@pytest.mark.parametrize("kind", ["standard", "mup"])
def test_seed_gives_the_same_recurrent_matrix_at_every_level(kind):
    """Pairing: seed s starts from the same recurrent matrix at every level of a factor, although
    the number of inputs and outputs (flip-flop channels, auxiliary output) changes the shapes of
    the other weights; different seeds start from different matrices."""
    levels = [make_task("flipflop", n_channels=c) for c in (1, 3)]
    levels += [make_task("delayed_discrimination", delay_max=d) for d in (10, 20, 30)]
    levels += [make_task("delayed_discrimination", n_channels=c, auxiliary=a) for c in (2, 3) for a in (False, True)]
    assert len({(t.n_inputs, t.n_outputs) for t in levels}) >= 3  # the shapes do change
    for seed in (0, 7):
        first = _recurrent(kind, levels[0], seed)
        for task in levels[1:]:
            assert torch.equal(_recurrent(kind, task, seed), first), (task, seed)
    assert not torch.equal(_recurrent(kind, levels[0], 0), _recurrent(kind, levels[0], 1))
    assert not torch.equal(_recurrent(kind, levels[1], 0), _recurrent(kind, levels[1], 1))


def test_recurrent_matrix_keeps_each_kinds_initial_law():
    """The redrawn matrix has the documented law: U(+-1/sqrt(n)) (standard), N(0, N) entries of J
    so J/N has entries of SD 1/sqrt(n) (muP)."""
    task = make_task("flipflop", n_channels=3)
    n = 256
    W = _recurrent("standard", task, 0, n)
    assert W.abs().max() <= n**-0.5 and W.abs().max() > 0.99 * n**-0.5
    assert W.std().item() == pytest.approx(n**-0.5 / 3**0.5, rel=0.02)
    J = _recurrent("mup", task, 0, n)
    assert (J / n).std().item() == pytest.approx(n**-0.5, rel=0.02)
    assert abs((J / n).mean().item()) < 3 * n**-0.5 / n
