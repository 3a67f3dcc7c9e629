"""SVCCA: invariances, a planted answer, independent references (scipy algebra, sklearn CCA), and
the fixed component count that keeps the distance from growing with low-variance dimensions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from scipy.stats import ortho_group

from degeneracy.metrics.svcca import pairwise_svcca, pairwise_svcca_spectrum, svcca_distance, svd_basis


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


def _shared_signal_pair(extra: int, k: int = 4, n: int = 2000):
    """Two networks that share one k-dimensional signal (plus a private part of 0.6 its SD), each
    with ``extra`` more dimensions of independent noise, every one holding 1% of the signal's
    variance; everything rotated into k + extra units. The signal draws do not depend on
    ``extra`` (only the noise does), so the pairs differ only in their low-variance dimensions."""
    rng = np.random.default_rng(0)
    sd = np.array([3.0, 2.0, 1.5, 1.0])[:k]
    Z = rng.normal(size=(n, k)) * sd
    signals = [(Z + 0.6 * rng.normal(size=(n, k)) * sd) @ ortho_group.rvs(k, random_state=s) for s in (1, 2)]
    noise = np.random.default_rng(100)
    out = []
    for i, S in enumerate(signals):
        X = np.column_stack([S, noise.normal(size=(n, extra)) * np.sqrt(0.01 * S.var(0).sum())])
        out.append(X @ ortho_group.rvs(k + extra, random_state=10 + i))
    return out


#: Largest spread of the fixed-k distance over 0, 5 and 20 noise dimensions (measured: 1.3e-4).
NOISE_DIMS_TOL = 5e-3


def test_fixed_component_count_ignores_low_variance_dimensions():
    """Issue 30 item 2: with a fixed k the distance is the same (within NOISE_DIMS_TOL) whether the
    networks have 0, 5 or 20 extra noise dimensions at 1% variance each; the old 99%-variance
    truncation keeps the noise dimensions (they reach the 99%) and its distance grows with their
    number (measured 0.26, 0.61, 0.80)."""
    pairs = {e: _shared_signal_pair(e) for e in (0, 5, 20)}
    fixed = {e: svcca_distance(a, b, n_components=4) for e, (a, b) in pairs.items()}
    assert 0.1 < fixed[0] < 0.5  # a non-trivial distance
    assert max(fixed.values()) - min(fixed.values()) < NOISE_DIMS_TOL, fixed
    old = {e: svcca_distance(a, b, variance=0.99) for e, (a, b) in pairs.items()}
    assert old[0] == pytest.approx(fixed[0], abs=1e-9)  # without noise both keep the 4 signal dims
    assert old[5] > old[0] + 0.2 and old[20] > old[5] + 0.1, old  # the old definition fails


def test_fixed_component_count_is_capped_by_the_rank_and_checked():
    rng = np.random.default_rng(8)
    X = _activity(rng, latent=3, width=10)  # rank 3
    assert svd_basis(X, n_components=2).shape[1] == 2
    assert svd_basis(X, n_components=8).shape[1] == 3  # numerically zero directions are not kept
    res = pairwise_svcca_spectrum([X, X @ ortho_group.rvs(10, random_state=0)], n_components=8)
    assert res.kept.tolist() == [3, 3] and res.n99.tolist()[0] <= 3
    np.testing.assert_allclose(res.correlations[0, :3], 1.0, atol=1e-9)
    assert np.isnan(res.correlations[0, 3:]).all()
    np.testing.assert_allclose(res.explained, 1.0)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="n_components"):
            svd_basis(X, n_components=bad)


def test_spectrum_holds_each_pairs_canonical_correlations():
    rng = np.random.default_rng(9)
    acts = [_activity(rng, width=w, noise=0.3) for w in (6, 8, 10)]
    res = pairwise_svcca_spectrum(iter(acts), n_components=3)  # any iterable
    assert res.pairs.tolist() == [[0, 1], [0, 2], [1, 2]]
    for p, (i, j) in enumerate(res.pairs):
        rho = res.correlations[p, :3]
        assert np.all(np.diff(rho) <= 1e-12) and np.all((0 <= rho) & (rho <= 1))
        assert res.distance[i, j] == pytest.approx(1 - rho.mean(), abs=1e-12)
        assert res.distance[i, j] == pytest.approx(svcca_distance(acts[i], acts[j], n_components=3), abs=1e-12)
        assert 0 < res.explained[i] < 1


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
    # the second probe batch: other activity of the same networks (seed 1 no longer a rotation)
    acts2 = {s: _activity(rng, samples=trials * time, width=n, noise=0.1) for s in acts}

    def write(a, path):
        df = pd.DataFrame(a, columns=[f"h{i}" for i in range(n)])
        df.insert(0, "time", np.tile(np.arange(time), trials))
        df.insert(0, "trial", np.repeat(np.arange(trials), time))
        df.to_parquet(path)

    nets, trajs, trajs2 = [], [], []
    for seed, a in acts.items():
        npath, tpath = tmp_path / f"net{seed}.parquet", tmp_path / f"traj{seed}.parquet"
        pd.DataFrame(
            {"condition": ["c"], "seed": [seed], "status": ["converged"], "converged": [seed != 3]}
        ).to_parquet(npath)
        write(a, tpath)
        write(acts2[seed], tmp_path / f"traj2_{seed}.parquet")
        nets.append(npath)
        trajs.append(tpath)
        trajs2.append(tmp_path / f"traj2_{seed}.parquet")
    out = tmp_path / "svcca.parquet"
    res = stage("c", nets, trajs, out)
    back = pd.read_parquet(out)
    assert list(back.columns) == ["condition", "seed_a", "seed_b", "metric", "value"]
    assert sorted(zip(back["seed_a"], back["seed_b"])) == [(0, 1), (0, 2), (1, 2)]
    assert set(back["metric"]) == {"svcca"} and len(res) == 3
    v = {(a, b): x for a, b, x in zip(back["seed_a"], back["seed_b"], back["value"])}
    assert v[(0, 1)] < 1e-10
    assert v[(0, 2)] == pytest.approx(_reference(acts[0], acts[2])[0], abs=1e-8)

    # the workflow's call: fixed k, both probe batches, the spectrum beside the pairs
    from degeneracy.pipeline.pairwise_svcca import SPECTRUM_COLUMNS

    spec_path = tmp_path / "spectrum.parquet"
    res = stage("c", nets, trajs, out, n_components=3, probe2_paths=trajs2, out_spectrum=spec_path)
    back = pd.read_parquet(out)
    assert sorted(set(back["metric"])) == ["svcca", "svcca_probe2"] and len(back) == 6
    v = {(m, a, b): x for m, a, b, x in zip(back["metric"], back["seed_a"], back["seed_b"], back["value"])}
    assert v[("svcca", 0, 1)] < 1e-10
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert v[("svcca", a, b)] == pytest.approx(svcca_distance(acts[a], acts[b], n_components=3), abs=1e-12)
        assert v[("svcca_probe2", a, b)] == pytest.approx(svcca_distance(acts2[a], acts2[b], n_components=3), abs=1e-12)
    spec = pd.read_parquet(spec_path)
    assert {c: str(t) for c, t in spec.dtypes.items()} == SPECTRUM_COLUMNS
    assert len(spec) == 2 * 3 * 3  # two probes x three pairs x three components
    assert (spec["kept_a"] == 3).all() and spec["component"].tolist()[:3] == [0, 1, 2]
    for (m, a, b), g in spec.groupby(["metric", "seed_a", "seed_b"]):
        assert 1 - g["correlation"].mean() == pytest.approx(v[(m, a, b)], abs=1e-12)

    # fewer than 2 converged networks: both files empty, with their columns
    res = stage("c", nets[2:], trajs[2:], out, n_components=3, probe2_paths=trajs2[2:], out_spectrum=spec_path)
    assert len(res) == 0 and len(pd.read_parquet(out)) == 0
    assert list(pd.read_parquet(spec_path).columns) == list(SPECTRUM_COLUMNS)
