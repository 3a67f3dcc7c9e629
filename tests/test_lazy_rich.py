"""gamma moves the muP network from lazy to rich, measured with the feature-learning metrics."""

import copy

import torch

from degeneracy.metrics.feature_learning import network_kernel_alignment, weight_change
from degeneracy.models import build_model
from degeneracy.tasks import make_task, probe_batch
from degeneracy.training import masked_mse


def _train_and_measure(gamma: float, steps: int = 60, eta0: float = 0.05):
    task = make_task("delayed_discrimination", n_channels=1)
    cfg = {"kind": "mup", "n_units": 64, "gamma": gamma, "tau": 0.1, "readout_init": "zero"}
    model = build_model(cfg, task.n_inputs, task.n_outputs, seed=0)
    model0 = copy.deepcopy(model)
    opt = torch.optim.Adam(model.parameters(), lr=gamma * eta0)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x, y, mask = task.sample(32, g)
        loss = masked_mse(model(x)[0], y, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
    probe_x = probe_batch(task, 2, seed=5)[0]
    ka = network_kernel_alignment(model0, model, probe_x, max_outputs=128)
    change = weight_change(model0.recurrent_matrix().detach().numpy(), model.recurrent_matrix().detach().numpy())
    return ka, change["rel"]


def test_gamma_moves_network_from_lazy_to_rich():
    ka_lazy, dw_lazy = _train_and_measure(0.03)
    ka_rich, dw_rich = _train_and_measure(3.0)
    assert dw_rich > 10 * dw_lazy, (dw_lazy, dw_rich)
    assert ka_lazy > 0.95, ka_lazy  # lazy: the tangent kernel barely moves
    assert ka_rich < ka_lazy - 0.05, (ka_lazy, ka_rich)
