"""Feature-learning measures against hand computations."""

import math

import numpy as np
import pytest
import torch

from degeneracy.metrics.feature_learning import kernel_alignment, tangent_kernel, weight_change


def test_weight_change_hand():
    W0 = np.array([[3.0, 0.0], [0.0, 4.0]])  # ||W0|| = 5
    WT = W0 + np.array([[0.0, 1.0], [0.0, 0.0]])
    out = weight_change(W0, WT)
    assert out["abs"] == pytest.approx(1.0)
    assert out["rel"] == pytest.approx(0.2)
    assert weight_change(torch.tensor(W0), torch.tensor(W0))["abs"] == 0.0


def test_tangent_kernel_linear_map_hand():
    # fn(W) = W x : d out_i / d W_kl = delta_ik x_l  ->  K = ||x||^2 I
    x = torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64)
    K = tangent_kernel(lambda W: W @ x, torch.zeros(4, 3, dtype=torch.float64))
    np.testing.assert_allclose(K.numpy(), 9.0 * np.eye(4), atol=1e-12)


def test_tangent_kernel_matches_full_jacobian_and_blocks():
    torch.manual_seed(0)
    n, T = 5, 7
    x = torch.randn(2, T, 3, dtype=torch.float64)
    U = torch.randn(n, 3, dtype=torch.float64)
    R = torch.randn(1, n, dtype=torch.float64)

    def fn(W):
        h = torch.zeros(2, n, dtype=W.dtype)
        outs = []
        for t in range(T):
            h = torch.tanh(h @ W.T + x[:, t] @ U.T)
            outs.append(h @ R.T)
        return torch.stack(outs, 1)

    W = torch.randn(n, n, dtype=torch.float64) / math.sqrt(n)
    J = torch.autograd.functional.jacobian(fn, W).reshape(2 * T, n * n)
    K_full = J @ J.T
    K = tangent_kernel(fn, W, block_size=3)
    np.testing.assert_allclose(K.numpy(), K_full.numpy(), rtol=1e-10, atol=1e-12)
    # output subsampling: fixed evenly spaced subset of flat outputs
    Ks = tangent_kernel(fn, W, max_outputs=6)
    idx = torch.linspace(0, 2 * T - 1, 6).round().long()
    np.testing.assert_allclose(Ks.numpy(), K_full[idx][:, idx].numpy(), rtol=1e-10, atol=1e-12)


def test_kernel_alignment_hand():
    K0 = np.eye(2)
    KT = np.diag([1.0, 0.0])
    assert kernel_alignment(K0, KT) == pytest.approx(1 / math.sqrt(2))
    assert kernel_alignment(K0, 3.0 * K0) == pytest.approx(1.0)
    A = np.array([[2.0, 1.0], [1.0, 2.0]])
    B = np.array([[1.0, 0.0], [0.0, 3.0]])
    assert kernel_alignment(A, B) == pytest.approx(8.0 / (math.sqrt(10) * math.sqrt(10)))
    with pytest.raises(ValueError):
        kernel_alignment(np.eye(2), np.eye(3))
