"""The pairwise weights stage: its metrics, and every stored value reproduced by the documented
single-pair call ``permutation_distance(W_a, W_b, seed=[weights.seed, seed_a, seed_b], ...)``."""

import numpy as np
import pandas as pd
import pytest

from degeneracy.io import atomic_write_parquet, read_parquet
from degeneracy.metrics.weights import permutation_distance
from degeneracy.pipeline.extract import read_weights
from degeneracy.pipeline.pairwise_weights import pairwise_weights

N = 12
SETTINGS = {"n_restarts": 2, "seed": 5, "tabu_iters": 30}
SEARCH = {"n_restarts": 2, "tabu_iters": 30}


def _network(tmp_path, seed, converged, with_init=True, with_traj=False):
    rng = np.random.default_rng(seed)
    W0 = rng.standard_normal((N, N)) / np.sqrt(N)
    W = W0 + 0.3 * rng.standard_normal((N, N)) / np.sqrt(N)
    net = tmp_path / f"net{seed}.parquet"
    atomic_write_parquet(pd.DataFrame({"condition": ["c"], "seed": [seed], "converged": [converged]}), net)
    ii, jj = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    cols = {"i": ii.ravel().astype(np.int32), "j": jj.ravel().astype(np.int32), "value": W.ravel()}
    if with_init:
        cols["value_init"] = W0.ravel()
    wpath = tmp_path / f"weights{seed}.parquet"
    atomic_write_parquet(pd.DataFrame(cols), wpath)
    tpath = None
    if with_traj:
        H = rng.standard_normal((3, 5, N)).astype(np.float32)
        traj = pd.DataFrame(H.reshape(15, N), columns=[f"h{u}" for u in range(N)])
        traj.insert(0, "time", np.tile(np.arange(5, dtype=np.int32), 3))
        traj.insert(0, "trial", np.repeat(np.arange(3, dtype=np.int32), 5))
        tpath = tmp_path / f"traj{seed}.parquet"
        atomic_write_parquet(traj, tpath)
    return net, wpath, tpath, W, W0


def _value(df, metric, a, b):
    row = df[(df["metric"] == metric) & (df["seed_a"] == a) & (df["seed_b"] == b)]
    assert len(row) == 1
    return float(row["value"].iloc[0])


def test_stored_values_are_the_documented_call(tmp_path):
    seeds = [7, 2, 4, 9]  # 4 did not converge
    nets = [_network(tmp_path, s, converged=s != 4) for s in seeds]
    out = tmp_path / "pairs.parquet"
    df = pairwise_weights("c", [n[0] for n in nets], [n[1] for n in nets], SETTINGS, out, threads=1)
    stored = read_parquet(out)
    pd.testing.assert_frame_equal(stored, df, check_dtype=False)
    assert list(stored.columns) == ["condition", "seed_a", "seed_b", "metric", "value"]
    metrics = {
        "weight_aligned",
        "weight_aligned_per_n2",
        "weight_unaligned",
        "weight_scale_free",
        "weight_gap",
        "weight_aligned_init",
        "weight_scale_free_init",
        "weight_ratio_init",
    }
    assert set(stored["metric"]) == metrics
    pairs = {(2, 7), (2, 9), (7, 9)}  # converged seeds only, seed_a < seed_b
    assert set(zip(stored["seed_a"], stored["seed_b"])) == pairs
    assert len(stored) == len(pairs) * len(metrics)
    W = {s: n[3] for s, n in zip(seeds, nets)}
    W0 = {s: n[4] for s, n in zip(seeds, nets)}
    for a, b in pairs:
        # the matrices as stored on disk, the documented seed, the configured search
        Wa, Wb = read_weights(tmp_path / f"weights{a}.parquet"), read_weights(tmp_path / f"weights{b}.parquet")
        r = permutation_distance(Wa, Wb, seed=[SETTINGS["seed"], a, b], **SEARCH)
        assert _value(stored, "weight_aligned", a, b) == r["aligned"]
        assert _value(stored, "weight_gap", a, b) == r["gap"]
        assert _value(stored, "weight_aligned_per_n2", a, b) == pytest.approx(r["aligned"] / N**2)
        # independent hand computations of the plain quantities
        assert _value(stored, "weight_unaligned", a, b) == pytest.approx(np.linalg.norm(W[a] - W[b]))
        rms = np.sqrt((np.sum(W[a] ** 2) + np.sum(W[b] ** 2)) / 2)
        assert _value(stored, "weight_scale_free", a, b) == pytest.approx(r["aligned"] / rms)
        r0 = permutation_distance(W0[a], W0[b], seed=[SETTINGS["seed"], a, b], **SEARCH)
        assert _value(stored, "weight_aligned_init", a, b) == r0["aligned"]
        assert _value(stored, "weight_scale_free_init", a, b) == r0["scale_free"]
        assert _value(stored, "weight_ratio_init", a, b) == pytest.approx(r["aligned"] / r0["aligned"], rel=1e-12)
        assert _value(stored, "weight_aligned", a, b) <= _value(stored, "weight_unaligned", a, b)
    # two worker processes store the same values
    df2 = pairwise_weights(
        "c", [n[0] for n in nets], [n[1] for n in nets], SETTINGS, tmp_path / "p2.parquet", threads=2
    )
    pd.testing.assert_frame_equal(df2, df, check_dtype=False)


def test_no_init_column_no_init_rows_and_activity_start(tmp_path):
    nets = [_network(tmp_path, s, converged=True, with_init=False, with_traj=True) for s in (1, 2, 3)]
    df = pairwise_weights("c", [n[0] for n in nets], [n[1] for n in nets], SETTINGS, tmp_path / "p.parquet")
    assert "weight_aligned_init" not in set(df["metric"])
    assert len(df) == 3 * 5
    # with trajectories FAQ also starts from the activity matching: the stored value is the
    # documented call with ``activity=``
    dfa = pairwise_weights(
        "c",
        [n[0] for n in nets],
        [n[1] for n in nets],
        SETTINGS,
        tmp_path / "pa.parquet",
        trajectory_paths=[n[2] for n in nets],
    )
    from degeneracy.pipeline.extract import read_trajectories
    from degeneracy.pipeline.pairwise_weights import activity_sample

    H = {s: activity_sample(read_trajectories(tmp_path / f"traj{s}.parquet")) for s in (1, 2, 3)}
    r = permutation_distance(nets[0][3], nets[2][3], seed=[5, 1, 3], activity=(H[1], H[3]), **SEARCH)
    assert _value(dfa, "weight_aligned", 1, 3) == r["aligned"]


def test_activity_sample_keeps_every_kth_row(monkeypatch):
    from degeneracy.pipeline import pairwise_weights as pairwise

    H = np.arange(2 * 7 * 3, dtype=float).reshape(2, 7, 3)  # 14 rows of 3 units
    monkeypatch.setattr(pairwise, "MAX_ACTIVITY_ROWS", 5)
    X = pairwise.activity_sample(H)
    np.testing.assert_array_equal(X, H.reshape(14, 3)[::3])  # step ceil(14 / 5) = 3
    monkeypatch.setattr(pairwise, "MAX_ACTIVITY_ROWS", 100)
    np.testing.assert_array_equal(pairwise.activity_sample(H), H.reshape(14, 3))


def test_fewer_than_two_converged_writes_an_empty_table(tmp_path):
    nets = [_network(tmp_path, s, converged=s == 1) for s in (1, 2)]
    df = pairwise_weights("c", [n[0] for n in nets], [n[1] for n in nets], SETTINGS, tmp_path / "p.parquet")
    assert df.empty
    assert list(read_parquet(tmp_path / "p.parquet").columns) == ["condition", "seed_a", "seed_b", "metric", "value"]
