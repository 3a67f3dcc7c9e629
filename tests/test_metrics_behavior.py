"""Behavior metrics against hand computations."""

import math

import numpy as np
import pytest
import torch

from degeneracy.metrics.behavior import behavior_degeneracy, ood_mse


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


def test_behavior_degeneracy_population_sd():
    out = behavior_degeneracy([1.0, 2.0, 3.0, 6.0])
    # mean 3, deviations -2, -1, 0, 3 -> var = 14/4
    assert out["mean"] == pytest.approx(3.0)
    assert out["sd"] == pytest.approx(math.sqrt(14 / 4))
    assert out["n"] == 4
    assert behavior_degeneracy([0.5])["sd"] == 0.0
    empty = behavior_degeneracy([])
    assert math.isnan(empty["sd"]) and math.isnan(empty["mean"]) and "reason" in empty
    d = behavior_degeneracy([1.0, float("nan"), 3.0])
    assert d["n"] == 2 and d["n_dropped"] == 1 and d["sd"] == pytest.approx(1.0)
