"""Joint DSA across conditions and the centroid-spread statistic."""

import numpy as np
import pandas as pd
import pytest
import torch

from degeneracy.io import atomic_write_parquet, read_parquet
from degeneracy.metrics.dsa import fit_operator, pairwise_distances
from degeneracy.metrics.mds import classical_mds
from degeneracy.pipeline.extract import NETWORK_COLUMNS
from degeneracy.pipeline.joint_dsa import JOINT_COLUMNS, centroid_spread, joint_dsa, joint_matrix

from test_metrics_dsa import make_system

torch.set_num_threads(1)

DSA = {"n_delays": 3, "delay_interval": 1, "rank": 6, "ridge": 1e-8, "mode": "euclidean", "seed": 0}


def _hand_spread(X):
    """Mean Euclidean distance of the rows of X to their mean."""
    return float(np.linalg.norm(X - X.mean(0), axis=1).mean())


def _pdist(X):
    return np.linalg.norm(X[:, None] - X[None], axis=-1)


def test_centroid_spread_matches_known_coordinates():
    rng = np.random.default_rng(0)
    # three clusters in R^3 with different spreads, plus a lone point
    X = np.vstack([rng.normal(0, 0.1, (5, 3)), rng.normal(3, 1.0, (6, 3)), rng.normal(-4, 0.5, (4, 3)), [[9, 9, 9]]])
    labels = ["a"] * 5 + ["b"] * 6 + ["c"] * 4 + ["d"]
    res = centroid_spread(_pdist(X), labels, n_boot=500, seed=1).set_index("label")
    assert list(res.index) == ["a", "b", "c", "d"]
    for lab, sl in (("a", slice(0, 5)), ("b", slice(5, 11)), ("c", slice(11, 15))):
        assert res.loc[lab, "spread"] == pytest.approx(_hand_spread(X[sl]), rel=1e-10)
        assert res.loc[lab, "lo"] <= res.loc[lab, "spread"] <= res.loc[lab, "hi"]
        assert res.loc[lab, "n"] == sl.stop - sl.start
    assert res.loc["a", "spread"] < res.loc["c", "spread"] < res.loc["b", "spread"]  # SD 0.1 < 0.5 < 1.0
    assert res.loc["a", "hi"] < min(res.loc["c", "lo"], res.loc["b", "lo"])
    assert res.loc["d", "n"] == 1 and np.isnan(res.loc["d", ["spread", "lo", "hi"]].astype(float)).all()
    # the same through a classical-MDS embedding of the joint matrix (full dimension)
    Y = classical_mds(_pdist(X), n_components=3)
    assert _hand_spread(Y[:5]) == pytest.approx(res.loc["a", "spread"], rel=1e-8)
    # reproducible, and a label's interval does not depend on the other labels
    again = centroid_spread(_pdist(X[:11]), labels[:11], n_boot=500, seed=1).set_index("label")
    pd.testing.assert_series_equal(again.loc["a"], res.loc["a"])


def test_centroid_spread_bootstrap_replicate_by_hand():
    """With 2 points the only non-degenerate replicates draw both: spread = D/2 exactly."""
    D = np.array([[0.0, 2.0], [2.0, 0.0]])
    res = centroid_spread(D, ["x", "x"], n_boot=50, seed=0).iloc[0]
    assert res["spread"] == pytest.approx(1.0) and res["lo"] == pytest.approx(1.0) and res["hi"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="one label per row"):
        centroid_spread(D, ["x"], n_boot=10)


def _write_condition(tmp_path, name, seeds, n, converged):
    nets, trajs = [], []
    for seed, conv in zip(seeds, converged):
        row = {c: 0 for c in NETWORK_COLUMNS}
        row.update(condition=name, seed=seed, status="converged" if conv else "budget", converged=conv)
        net = tmp_path / f"{name}-net{seed}.parquet"
        atomic_write_parquet(pd.DataFrame([row]).astype(NETWORK_COLUMNS), net)
        h = _traj(name, seed, n)
        K, T, N = h.shape
        df = pd.DataFrame(h.reshape(K * T, N), columns=[f"h{i}" for i in range(N)])
        df.insert(0, "time", np.tile(np.arange(T, dtype=np.int32), K))
        df.insert(0, "trial", np.repeat(np.arange(K, dtype=np.int32), T))
        tp = tmp_path / f"{name}-traj{seed}.parquet"
        atomic_write_parquet(df, tp)
        nets.append(net)
        trajs.append(tp)
    return name, nets, trajs


def _traj(name, seed, n):
    return make_system(seed + (100 if name == "wide" else 0), n_trials=10, T=25, n=n)


def test_joint_dsa_all_pairs_in_one_set(tmp_path):
    # two widths: operators of rank 6 are comparable across them
    conds = [
        _write_condition(tmp_path, "narrow", [3, 1, 2], 4, [True, True, False]),
        _write_condition(tmp_path, "wide", [5, 6, 7], 8, [True, True, True]),
    ]
    out = tmp_path / "joint.parquet"
    df = joint_dsa(conds, DSA, out=out)
    pd.testing.assert_frame_equal(read_parquet(out), df)
    assert list(df.columns) == list(JOINT_COLUMNS)
    keys = [("narrow", 1), ("narrow", 3), ("wide", 5), ("wide", 6), ("wide", 7)]  # converged, by seed
    assert len(df) == 10
    cross = df[df["condition_a"] != df["condition_b"]]
    assert len(cross) == 2 * 3 and (cross["condition_a"] == "narrow").all()
    within = df[df["condition_a"] == df["condition_b"]]
    assert (within["seed_a"] < within["seed_b"]).all()

    # the same numbers as one direct library call on the same networks in the same order
    fits = [fit_operator(_traj(c, s, 4 if c == "narrow" else 8), 3, 1, 6) for c, s in keys]
    D_ref = pairwise_distances(fits, seed=0)
    D, conditions, seeds = joint_matrix(df)
    assert list(zip(conditions, seeds)) == keys
    np.testing.assert_array_equal(D, D_ref)
    # and no pair above its pair-alone value
    for i in range(5):
        for j in range(i + 1, 5):
            assert D[i, j] <= pairwise_distances([fits[i], fits[j]], seed=0)[0, 1]
    res = centroid_spread(D, conditions, n_boot=200)
    assert list(res["label"]) == ["narrow", "wide"] and list(res["n"]) == [2, 3]
    assert res.loc[0, "spread"] == pytest.approx(D[0, 1] / 2)  # two points: half their distance


def test_joint_dsa_rank_that_does_not_fit_a_condition_names_it(tmp_path):
    conds = [
        _write_condition(tmp_path, "narrow", [1, 2], 2, [True, True]),
        _write_condition(tmp_path, "wide", [5, 6], 8, [True, True]),
    ]
    with pytest.raises(ValueError, match="narrow seed 1: rank=7 is larger than the embedding dimension"):
        joint_dsa(conds, {**DSA, "rank": 7})
    with pytest.raises(ValueError, match="listed twice"):
        joint_dsa([conds[1], conds[1]], DSA)
