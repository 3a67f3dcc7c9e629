"""DSA robustness grid: settings arithmetic by hand, values against the main pipeline's stages
and against direct library calls at the scaled settings."""

import numpy as np
import pandas as pd
import pytest
import torch

from degeneracy.io import atomic_write_parquet, read_parquet
from degeneracy.metrics.dsa import dsa_null, fit_operator, pairwise_distances
from degeneracy.pipeline.dsa_grid import GRID_COLUMNS, dsa_grid, dsa_grid_distances, dsa_grid_fit, grid_settings
from degeneracy.pipeline.extract import NETWORK_COLUMNS, dsa_fit
from degeneracy.pipeline.pairwise_dsa import pairwise_dsa

from test_metrics_dsa import make_system

torch.set_num_threads(1)

DSA = {"n_delays": 3, "delay_interval": 2, "rank": 4, "ridge": 1e-8, "mode": "euclidean", "seed": 7}


def _settings(dsa, shape, grid=None):
    return [
        (s["rank"], s["delay_interval"], s["rank_scale"], s["interval_scale"]) for s in grid_settings(dsa, shape, grid)
    ]


def test_grid_settings_scale_round_and_deduplicate():
    # rank 10 -> 5, 10, 20; interval 1 -> round(0.5) = 1 (a duplicate of 1x: skipped), 1, 2
    got = _settings({"n_delays": 10, "delay_interval": 1, "rank": 10}, (256, 50, 64))
    assert got == [
        (5, 1, 0.5, 1.0),
        (10, 1, 1.0, 1.0),
        (20, 1, 2.0, 1.0),
        (5, 2, 0.5, 2.0),
        (10, 2, 1.0, 2.0),
        (20, 2, 2.0, 2.0),
    ]


def test_grid_settings_clip_to_probe_and_embedding():
    # 12 steps, 4 delays: interval <= (12 - 2) // 3 = 3, so 2x of 2 = 4 -> 3.
    # rank 6 -> 3, 6, 12; 12 > units * n_delays = 8 -> 8 (the Hankel rows,
    # 8 * (12 - 3 * interval) >= 24, do not bind).
    got = _settings({"n_delays": 4, "delay_interval": 2, "rank": 6}, (8, 12, 2))
    expect = [(r, i, rs, is_) for i, is_ in ((1, 0.5), (2, 1.0), (3, 2.0)) for r, rs in ((3, 0.5), (6, 1.0), (8, 2.0))]
    assert got == expect
    # Hankel rows bind: 2 trials; 6 steps, 3 delays, interval 2 -> T' = 2, rows 2 * 2 = 4, so
    # rank 2x = 6 -> 4 (embedding 3 * 5 = 15 does not bind)
    one_two = {"rank": [1, 2], "delay_interval": [1]}
    got = _settings({"n_delays": 3, "delay_interval": 2, "rank": 3}, (2, 6, 5), one_two)
    assert got == [(3, 2, 1.0, 1.0), (4, 2, 2.0, 1.0)]
    # the null fits a second probe batch of all 4 trials (not halves of 2): rows 4 * 2 = 8, so
    # rank 6 is kept (the former split-half null clipped it to 4)
    got = _settings({"n_delays": 3, "delay_interval": 2, "rank": 3}, (4, 6, 5), one_two)
    assert got == [(3, 2, 1.0, 1.0), (6, 2, 2.0, 1.0)]
    # no interval fits: everything skipped
    assert grid_settings({"n_delays": 10, "delay_interval": 1, "rank": 6}, (8, 5, 2)) == []
    with pytest.raises(ValueError, match="unknown key"):
        grid_settings(DSA, (8, 30, 6), {"ranks": [1]})
    with pytest.raises(ValueError, match="finite numbers > 0"):
        grid_settings(DSA, (8, 30, 6), {"rank": [0.5, float("nan")]})


def _write_traj(h, path):
    K, T, N = h.shape
    traj = pd.DataFrame(h.reshape(K * T, N), columns=[f"h{i}" for i in range(N)])
    traj.insert(0, "time", np.tile(np.arange(T, dtype=np.int32), K))
    traj.insert(0, "trial", np.repeat(np.arange(K, dtype=np.int32), T))
    atomic_write_parquet(traj, path)


def _write_condition(tmp_path, converged=(True, True, False, True)):
    """Network rows and probe trajectories of 4 networks (seeds 10..13) in the pipeline's formats,
    each with its second probe batch (``trajectories_probe2.parquet`` beside ``trajectories.parquet``)."""
    net_paths, traj_paths = [], []
    for k, conv in enumerate(converged):
        seed = 10 + k
        row = {c: 0 for c in NETWORK_COLUMNS}
        row.update(condition="c", seed=seed, status="converged" if conv else "budget", converged=conv)
        net = tmp_path / f"net{seed}.parquet"
        atomic_write_parquet(pd.DataFrame([row]).astype(NETWORK_COLUMNS), net)
        (tmp_path / f"seed{seed}").mkdir(exist_ok=True)
        tp = tmp_path / f"seed{seed}" / "trajectories.parquet"
        _write_traj(make_system(seed, n_trials=12, T=30, n=6, gain=0.5 + 0.3 * k), tp)
        _write_traj(
            make_system(seed, n_trials=12, T=30, n=6, gain=0.5 + 0.3 * k, probe=1),
            tp.with_name("trajectories_probe2.parquet"),
        )
        net_paths.append(net)
        traj_paths.append(tp)
    return net_paths, traj_paths


def test_dsa_grid_values_match_pipeline_and_direct_calls(tmp_path):
    nets, trajs = _write_condition(tmp_path)
    out = tmp_path / "grid.parquet"
    df = dsa_grid("c", nets, trajs, DSA, out=out)
    pd.testing.assert_frame_equal(read_parquet(out), df)
    assert list(df.columns) == list(GRID_COLUMNS)
    seeds = [10, 11, 13]  # seed 12 did not converge
    assert set(df["seed_a"]) | set(df["seed_b"]) == set(seeds)
    n_set = len(grid_settings(DSA, (12, 30, 6)))
    assert n_set == 9 and len(df) == n_set * (3 + 3)
    null = df[df["metric"] == "dsa_null"]
    assert (null["seed_a"] == null["seed_b"]).all()
    pair = df[df["metric"] == "dsa"]
    assert (pair["seed_a"] < pair["seed_b"]).all()

    # 1x/1x rows = what the main pipeline writes (dsa_fit, then pairwise_dsa)
    ops, nul, pw = tmp_path / "ops.parquet", tmp_path / "null.parquet", tmp_path / "pw.parquet"
    dsa_fit("c", nets, trajs, DSA, ops, nul)
    main = pairwise_dsa("c", ops, nul, DSA, pw)
    one = df[(df["rank_scale"] == 1) & (df["interval_scale"] == 1)]
    assert (one["rank"] == 4).all() and (one["delay_interval"] == 2).all() and (one["n_delays"] == 3).all()
    merged = one.merge(main, on=["seed_a", "seed_b", "metric"], suffixes=("", "_main"))
    assert len(merged) == len(main) == 6
    np.testing.assert_allclose(merged["value"], merged["value_main"], rtol=0, atol=1e-12)

    # a scaled setting (rank 2x = 8, interval 2x = 4) = direct library calls at that setting
    X = {s: make_system(s, n_trials=12, T=30, n=6, gain=0.5 + 0.3 * (s - 10)) for s in seeds}
    X2 = {s: make_system(s, n_trials=12, T=30, n=6, gain=0.5 + 0.3 * (s - 10), probe=1) for s in seeds}
    fits = [fit_operator(X[s], 3, 4, 8) for s in seeds]
    D = pairwise_distances(fits, seed=7)
    sub = df[(df["rank"] == 8) & (df["delay_interval"] == 4)].set_index(["seed_a", "seed_b", "metric"])["value"]
    for a in range(3):
        for b in range(a + 1, 3):
            assert abs(sub[(seeds[a], seeds[b], "dsa")] - D[a, b]) < 1e-12
        assert (
            abs(
                sub[(seeds[a], seeds[a], "dsa_null")]
                - dsa_null(X[seeds[a]], X2[seeds[a]], 3, 4, 8, 1e-8, seed=7 + seeds[a])
            )
            < 1e-12
        )
    # the main pipeline's null: the network on its two probe batches, at the task's setting
    # (the files passed explicitly give the same table as the ones found beside trajectories.parquet)
    main_null = read_parquet(nul).set_index("seed")["value"]
    for s in seeds:
        assert abs(main_null[s] - dsa_null(X[s], X2[s], 3, 2, 4, 1e-8, seed=7 + s)) < 1e-12
    nul2 = tmp_path / "null2.parquet"
    dsa_fit(
        "c",
        nets,
        trajs,
        DSA,
        ops,
        nul2,
        trajectory_probe2_paths=[p.with_name("trajectories_probe2.parquet") for p in trajs],
    )
    pd.testing.assert_frame_equal(read_parquet(nul2), read_parquet(nul))
    # the settings change the values (a grid that ignored them would repeat one table)
    assert not np.allclose(sub.xs("dsa", level="metric").to_numpy(), one[one["metric"] == "dsa"]["value"].to_numpy())


def test_dsa_grid_with_fewer_than_two_converged_networks(tmp_path):
    nets, trajs = _write_condition(tmp_path, converged=(True, False, False, False))
    df = dsa_grid("c", nets, trajs, DSA, grid={"rank": [1], "delay_interval": [1, 2]})
    assert (df["metric"] == "dsa_null").all() and len(df) == 2  # one null per setting, no pairs
    nets, trajs = _write_condition(tmp_path, converged=(False, False, False, False))
    df = dsa_grid("c", nets, trajs, DSA, out=tmp_path / "empty.parquet")
    assert df.empty and list(read_parquet(tmp_path / "empty.parquet").columns) == list(GRID_COLUMNS)


def test_dsa_grid_max_networks_keeps_the_lowest_seeds(tmp_path):
    """max_networks = 2 of the seeds 10..13 (12 did not converge) keeps 10 and 11 (input order
    reversed: the cap goes by seed, not by position): the same nulls as the uncapped grid, and a
    pair value at or above the uncapped one (a larger set can only lower a pair, by composition).
    The cap counts seeds, not converged networks (so the workflow knows a block's files before
    any network is trained): max_networks = 3 keeps the converged ones of 10, 11, 12, not 13."""
    nets, trajs = _write_condition(tmp_path)
    grid = {"rank": [1], "delay_interval": [1]}
    full = dsa_grid("c", nets, trajs, DSA, grid=grid)
    capped = dsa_grid("c", nets[::-1], trajs[::-1], DSA, grid=grid, max_networks=2)
    assert set(capped["seed_a"]) | set(capped["seed_b"]) == {10, 11}
    assert len(capped) == 1 + 2  # one pair, two nulls
    keep = full[full["seed_a"].isin([10, 11]) & full["seed_b"].isin([10, 11])]
    key = ["seed_a", "seed_b", "metric"]
    merged = capped.merge(keep, on=key, suffixes=("", "_full"))
    assert len(merged) == 3
    nul = merged["metric"] == "dsa_null"
    np.testing.assert_allclose(merged.loc[nul, "value"], merged.loc[nul, "value_full"], rtol=0, atol=1e-12)
    assert (merged.loc[~nul, "value"] >= merged.loc[~nul, "value_full"] - 1e-12).all()
    three = dsa_grid("c", nets, trajs, DSA, grid=grid, max_networks=3)
    assert set(three["seed_a"]) | set(three["seed_b"]) == {10, 11}
    with pytest.raises(ValueError, match="max_networks"):
        dsa_grid("c", nets, trajs, DSA, grid=grid, max_networks=1)


def test_grid_fitted_in_blocks_equals_the_one_job_grid(tmp_path):
    """The workflow fits a condition's networks in blocks (dsa_grid_fit) and gathers them
    (dsa_grid_distances): value for value the table of one dsa_grid call, in any block order;
    a network fitted in two blocks, and blocks fitted at different settings, are errors."""
    nets, trajs = _write_condition(tmp_path)
    one = dsa_grid("c", nets, trajs, DSA)
    blocks = [tmp_path / "b0.parquet", tmp_path / "b1.parquet"]
    dsa_grid_fit("c", nets[:2], trajs[:2], DSA, out=blocks[0])
    dsa_grid_fit("c", nets[2:], trajs[2:], DSA, out=blocks[1])
    for order in (blocks, blocks[::-1]):
        pd.testing.assert_frame_equal(dsa_grid_distances("c", order, DSA), one)
    with pytest.raises(ValueError, match="two fit blocks"):
        dsa_grid_distances("c", [blocks[0], blocks[0]], DSA)
    other = tmp_path / "other.parquet"
    dsa_grid_fit("c", nets[2:], trajs[2:], DSA, grid={"rank": [1.0], "delay_interval": [1.0]}, out=other)
    with pytest.raises(ValueError, match="different settings"):
        dsa_grid_distances("c", [blocks[0], other], DSA)
