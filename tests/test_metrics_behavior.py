"""Behavior metrics against hand computations."""

import math

import numpy as np
import pytest
import torch

from degeneracy.metrics.behavior import (
    behavior_degeneracy,
    grouped_mse,
    masked_mse,
    masked_mse_se,
    ood_mse,
    output_groups,
)
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
    assert g["main"] == pytest.approx(13.0) and g["aux"] == pytest.approx(20.0)
    assert math.isnan(g["main_se"])  # one trial: no standard error
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


def test_masked_mse_se_hand_computed():
    # three trials of two masked steps each: per-trial MSEs 1, 4, 7 (equal weights), so the SE is
    # their sample SD (3) over sqrt(3)
    err = torch.tensor([[1.0, 1.0, 9.0], [4.0, 4.0, 0.0], [7.0, 7.0, 5.0]]).sqrt()[..., None]
    mask = torch.tensor([[1.0, 1.0, 0.0]] * 3)[..., None]
    y = torch.zeros_like(err)
    assert masked_mse(err, y, mask) == pytest.approx(4.0)
    assert masked_mse_se(err, y, mask) == pytest.approx(3.0 / math.sqrt(3.0))
    # unequal weights: trial 0 scores 1 step (a=1, b=1), trial 1 scores 3 (a=3*4, b=3); R = 13/4;
    # residuals a - R b = -9/4, 9/4; SE = sqrt((81/16 + 81/16) / (2 * 1)) / mean(b) = (9/4) / 2
    e2 = torch.tensor([[1.0, 0.0, 0.0], [2.0, 2.0, 2.0]])[..., None]
    m2 = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])[..., None]
    assert masked_mse(e2, torch.zeros_like(e2), m2) == pytest.approx(13.0 / 4)
    assert masked_mse_se(e2, torch.zeros_like(e2), m2) == pytest.approx(9.0 / 8)


def test_masked_mse_se_matches_the_spread_over_independent_batches():
    # planted: rare large per-trial errors with a random mask (unequal weights per trial); the SE
    # from one batch must match the SD of the batch MSE over many independent batches
    rng = np.random.default_rng(0)

    def batch():
        # small noise everywhere, a wrong answer (error 2) on about 5% of the trials
        e = 0.1 * rng.standard_normal((256, 20, 1)) + 2.0 * (rng.random((256, 1, 1)) < 0.05)
        m = (rng.random((256, 20, 1)) < 0.5).astype(float)
        m[:, 0] = 1.0
        return torch.as_tensor(e), torch.as_tensor(m)

    mses, ses = [], []
    for _ in range(400):
        e, m = batch()
        mses.append(masked_mse(e, torch.zeros_like(e), m))
        ses.append(masked_mse_se(e, torch.zeros_like(e), m))
    assert np.median(ses) == pytest.approx(np.std(mses, ddof=1), rel=0.2)


def test_grouped_mse_in_chunks_equals_one_pass():
    # more trials than one forward chunk: the chunked score equals the score of one full pass
    from degeneracy.metrics import behavior

    n = behavior._CHUNK * 2 + 37
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 5, 1, generator=g), torch.randn(n, 5, 1, generator=g)
    mask = torch.ones_like(y)
    out = grouped_mse(Scale(0.5), x, y, mask, {"main": [0], "aux": None})
    assert out["main"] == pytest.approx(masked_mse(0.5 * x, y, mask), rel=1e-12)
    assert out["main_se"] == pytest.approx(masked_mse_se(0.5 * x, y, mask), rel=1e-12)
