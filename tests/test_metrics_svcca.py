"""SVCCA: invariances, a planted answer, and independent references (scipy algebra, sklearn CCA)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from scipy.stats import ortho_group

from degeneracy.metrics.svcca import pairwise_svcca, svcca_distance, svd_basis


def _activity(rng, samples=300, latent=4, width=12, noise=0.0):
    Z = rng.normal(size=(samples, latent)) * np.array([3.0, 2.0, 1.5, 1.0])[:latent]
    A = rng.normal(size=(latent, width))
    return Z @ A + noise * rng.normal(size=(samples, width))


def test_rotated_and_rescaled_copy_is_at_zero_distance():
    rng = np.random.default_rng(0)
    X = _activity(rng)
    Q = ortho_group.rvs(12, random_state=1)
    assert svcca_distance(X, X @ Q) < 1e-10
    # an invertible linear map to a wider population and an offset change nothing either
    M = rng.normal(size=(12, 20))
    assert svcca_distance(X, X @ M + 5.0) < 1e-8
    # (trials, time, units) input is flattened over trials and time
    assert svcca_distance(X.reshape(10, 30, 12), (X @ Q).reshape(10, 30, 12)) < 1e-10


def test_planted_principal_angles():
    """Orthogonal, equal-variance columns keep every component, and the canonical correlations
    are the cosines of the planted angles."""
    rng = np.random.default_rng(1)
    n = 200
    U, _ = np.linalg.qr(np.column_stack([np.ones(n), rng.normal(size=(n, 4))]))
    u = U[:, 1:]  # orthonormal and orthogonal to the constant vector (already centred)
    t1, t2 = 0.3, 1.1
    X = np.sqrt(n) * u[:, :2]
    Y = np.sqrt(n) * np.column_stack(
        [np.cos(t1) * u[:, 0] + np.sin(t1) * u[:, 2], np.cos(t2) * u[:, 1] + np.sin(t2) * u[:, 3]]
    )
    expected = 1.0 - (np.cos(t1) + np.cos(t2)) / 2.0
    assert svcca_distance(X, Y) == pytest.approx(expected, abs=1e-12)


def _reference(X, Y, variance=0.99):
    """Independent SVCCA: PCA by eigendecomposition of the covariance, CCA by whitening
    (C_xx^-1/2 C_xy C_yy^-1/2, scipy's matrix square root)."""

    def reduce(A):
        A = A - A.mean(0)
        w, V = np.linalg.eigh(np.cov(A, rowvar=False))
        w, V = w[::-1], V[:, ::-1]
        k = int(np.argmax(np.cumsum(w) / w.sum() >= variance - 1e-12)) + 1
        return A @ V[:, :k]

    a, b = reduce(X), reduce(Y)
    C = np.cov(np.column_stack([a, b]), rowvar=False)
    p = a.shape[1]
    Cxx, Cyy, Cxy = C[:p, :p], C[p:, p:], C[:p, p:]
    isx = np.linalg.inv(np.real(scipy.linalg.sqrtm(Cxx)))
    isy = np.linalg.inv(np.real(scipy.linalg.sqrtm(Cyy)))
    rho = np.linalg.svd(isx @ Cxy @ isy, compute_uv=False)[: min(p, b.shape[1])]
    return 1.0 - rho.mean(), rho, a, b


def test_matches_whitening_reference_on_noisy_data():
    rng = np.random.default_rng(2)
    Z = rng.normal(size=(400, 3))
    X = Z @ rng.normal(size=(3, 8)) + 0.3 * rng.normal(size=(400, 8))
    Y = np.tanh(Z @ rng.normal(size=(3, 6))) + 0.3 * rng.normal(size=(400, 6))
    ref, _, _, _ = _reference(X, Y)
    assert 0.05 < ref < 0.95  # a non-trivial case
    assert svcca_distance(X, Y) == pytest.approx(ref, abs=1e-9)


def test_canonical_correlations_match_sklearn_cca():
    from sklearn.cross_decomposition import CCA

    rng = np.random.default_rng(3)
    Z = rng.normal(size=(300, 2))
    X = Z @ rng.normal(size=(2, 3)) + 0.5 * rng.normal(size=(300, 3))
    Y = Z @ rng.normal(size=(2, 3)) + 0.5 * rng.normal(size=(300, 3))
    ref, rho, a, b = _reference(X, Y, variance=1.0)  # keep everything: plain CCA
    q = min(a.shape[1], b.shape[1])
    cca = CCA(n_components=q, scale=False, max_iter=5000, tol=1e-12).fit(a, b)
    xs, ys = cca.transform(a, b)
    sk = np.array([abs(np.corrcoef(xs[:, i], ys[:, i])[0, 1]) for i in range(q)])
    np.testing.assert_allclose(np.sort(sk)[::-1], rho, atol=1e-4)
    assert svcca_distance(X, Y, variance=1.0) == pytest.approx(1.0 - sk.mean(), abs=1e-4)


def test_variance_threshold_picks_the_components():
    rng = np.random.default_rng(4)
    n = 500
    U, _ = np.linalg.qr(rng.normal(size=(n, 3)) - 0)
    U -= U.mean(0)
    U, _ = np.linalg.qr(U)
    X = U * np.array([10.0, 3.0, 0.1]) @ ortho_group.rvs(3, random_state=0)
    # variance shares 100 : 9 : 0.01 -> 99% needs 2 components, 99.99% needs 3
    assert svd_basis(X, 0.99).shape[1] == 2
    assert svd_basis(X, 0.99995).shape[1] == 3


def test_pairwise_matrix_batches_different_widths():
    rng = np.random.default_rng(5)
    acts = [_activity(rng, width=w, noise=0.2) for w in (5, 9, 14)]
    D = pairwise_svcca(acts)
    assert D.shape == (3, 3) and np.allclose(D, D.T) and np.all(np.diag(D) == 0)
    for i in range(3):
        for j in range(i + 1, 3):
            assert D[i, j] == pytest.approx(svcca_distance(acts[i], acts[j]), abs=1e-12)
            assert D[i, j] == pytest.approx(_reference(acts[i], acts[j])[0], abs=1e-8)
    assert 0 < D[0, 1] <= 1


def test_bad_input_is_refused():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(50, 4))
    with pytest.raises(ValueError, match="sample counts"):
        pairwise_svcca([X, X[:40]])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        svcca_distance(X, bad)
    assert np.isnan(pairwise_svcca([X])).all()


def test_pipeline_stage_writes_converged_pairs(tmp_path):
    import pandas as pd

    from degeneracy.pipeline.pairwise_svcca import pairwise_svcca as stage

    rng = np.random.default_rng(7)
    trials, time, n = 6, 20, 5
    base = _activity(rng, samples=trials * time, width=n, noise=0.1)
    acts = {
        0: base,
        1: base @ ortho_group.rvs(n, random_state=3),  # rotated copy: distance 0
        2: _activity(rng, samples=trials * time, width=n, noise=0.1),
        3: rng.normal(size=(trials * time, n)),  # not converged: left out
    }
    nets, trajs = [], []
    for seed, a in acts.items():
        npath, tpath = tmp_path / f"net{seed}.parquet", tmp_path / f"traj{seed}.parquet"
        pd.DataFrame(
            {"condition": ["c"], "seed": [seed], "status": ["converged"], "converged": [seed != 3]}
        ).to_parquet(npath)
        df = pd.DataFrame(a, columns=[f"h{i}" for i in range(n)])
        df.insert(0, "time", np.tile(np.arange(time), trials))
        df.insert(0, "trial", np.repeat(np.arange(trials), time))
        df.to_parquet(tpath)
        nets.append(npath)
        trajs.append(tpath)
    out = tmp_path / "svcca.parquet"
    res = stage("c", nets, trajs, out)
    back = pd.read_parquet(out)
    assert list(back.columns) == ["condition", "seed_a", "seed_b", "metric", "value"]
    assert sorted(zip(back["seed_a"], back["seed_b"])) == [(0, 1), (0, 2), (1, 2)]
    assert set(back["metric"]) == {"svcca"} and len(res) == 3
    v = {(a, b): x for a, b, x in zip(back["seed_a"], back["seed_b"], back["value"])}
    assert v[(0, 1)] < 1e-10
    assert v[(0, 2)] == pytest.approx(_reference(acts[0], acts[2])[0], abs=1e-8)
