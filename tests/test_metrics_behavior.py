"""Behavior metrics against hand computations."""

import math

import numpy as np
import pytest
import torch

from degeneracy.metrics.behavior import behavior_degeneracy, grouped_mse, ood_mse, output_groups
from degeneracy.tasks import make_task


class Scale(torch.nn.Module):
    """y_hat = c * x (one output), h = x: a model whose MSE is computable by hand."""

    def __init__(self, c):
        super().__init__()
        self.c = torch.nn.Parameter(torch.tensor(float(c)))

    def forward(self, x):
        return self.c * x, x


def test_ood_mse_hand_computed():
    x = torch.tensor([[[1.0], [2.0], [3.0]]])  # (1, 3, 1)
    y = torch.tensor([[[1.0], [1.0], [1.0]]])
    mask = torch.tensor([[[1.0], [0.0], [1.0]]])
    # y_hat = 2x = 2, 4, 6 ; errors^2 = 1, 9, 25 ; masked: (1 + 25) / 2 = 13
    assert ood_mse(Scale(2.0), x, y, mask) == pytest.approx(13.0)
    # no mask weight -> plain mean (1 + 9 + 25) / 3
    assert ood_mse(Scale(2.0), x, y, torch.ones_like(y)) == pytest.approx(35.0 / 3)
    with pytest.raises(ValueError, match="all zero"):
        ood_mse(Scale(2.0), x, y, torch.zeros_like(y))


def test_ood_mse_on_a_subset_of_outputs():
    # two outputs: y_hat = (2x, 2x), targets (1, 0), mask only the middle step off
    x = torch.tensor([[[1.0], [2.0], [3.0]]])
    two = torch.nn.Module()
    two.forward = lambda inp: (torch.cat([2 * inp, 2 * inp], dim=2), inp)
    y = torch.cat([torch.ones(1, 3, 1), torch.zeros(1, 3, 1)], dim=2)
    mask = torch.tensor([[[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]])
    # output 0: (1 + 25) / 2 = 13 ; output 1: (4 + 36) / 2 = 20 ; both: (1 + 25 + 4 + 36) / 4
    assert ood_mse(two, x, y, mask, outputs=[0]) == pytest.approx(13.0)
    assert ood_mse(two, x, y, mask, outputs=[1]) == pytest.approx(20.0)
    assert ood_mse(two, x, y, mask) == pytest.approx(66.0 / 4)
    g = grouped_mse(two, x, y, mask, {"main": [0], "aux": [1]})
    assert g == {"main": pytest.approx(13.0), "aux": pytest.approx(20.0)}
    assert math.isnan(grouped_mse(two, x, y, mask, {"main": [0, 1], "aux": None})["aux"])


def test_output_groups_follow_the_delayed_discrimination_layout():
    # 3 channels with auxiliary: signs are outputs 0..2, magnitudes 3..5
    on = make_task("delayed_discrimination", n_channels=3, auxiliary=True)
    assert output_groups(on) == {"main": [0, 1, 2], "aux": [3, 4, 5]}
    off = make_task("delayed_discrimination", n_channels=3, auxiliary=False)
    assert output_groups(off) == {"main": [0, 1, 2], "aux": None}
    # the layout claim itself: in the sampled targets, outputs 0..2 are signs (+-1 or 0)
    _, y, _ = on.sample(8, torch.Generator().manual_seed(0))
    assert set(np.unique(y[..., :3].numpy())) <= {-1.0, 0.0, 1.0}
    assert np.abs(y[..., 3:].numpy()).max() <= 1.0 and len(np.unique(y[..., 3:].numpy())) > 3
    assert output_groups(make_task("flipflop", n_channels=2)) == {"main": [0, 1], "aux": None}


def test_behavior_degeneracy_sample_sd():
    out = behavior_degeneracy([1.0, 2.0, 3.0, 6.0])
    # mean 3, deviations -2, -1, 0, 3 -> sample variance = 14/3
    assert out["mean"] == pytest.approx(3.0)
    assert out["sd"] == pytest.approx(math.sqrt(14 / 3))
    assert out["sd"] == pytest.approx(float(np.std([1.0, 2.0, 3.0, 6.0], ddof=1)))
    assert out["n"] == 4
    one = behavior_degeneracy([0.5])
    assert math.isnan(one["sd"]) and one["mean"] == 0.5 and "reason" in one
    empty = behavior_degeneracy([])
    assert math.isnan(empty["sd"]) and math.isnan(empty["mean"]) and "reason" in empty
    d = behavior_degeneracy([1.0, float("nan"), 3.0])
    assert d["n"] == 2 and d["n_dropped"] == 1 and d["sd"] == pytest.approx(math.sqrt(2.0))
