"""Statistics on synthetic distance tables with planted trends (degeneracy.stats)."""

import numpy as np
import pandas as pd
import pytest

from degeneracy.stats import (
    PAPER_DIRECTIONS,
    bootstrap_mean_pairwise,
    bootstrap_sd,
    effects_markdown,
    effects_table,
    pair_matrix,
    pairwise_mean_replicates,
    spearman_effect,
    spearman_rho,
)


def pairs_frame(k, mean, sd, rng, seeds=None):
    seeds = list(range(k)) if seeds is None else seeds
    rows = [
        (a, b, rng.normal(mean, sd)) for i, a in enumerate(seeds) for b in seeds[i + 1 :]
    ]
    return pd.DataFrame(rows, columns=["seed_a", "seed_b", "value"])


def synth(slope=1.0, k=8, levels=(1, 2, 3, 4), factor="channels", experiment="complexity", task="flipflop", seed=0):
    """meta/networks/pairwise with degeneracy rising (slope>0), falling (<0) or flat (0) in level."""
    rng = np.random.default_rng(seed)
    meta, nets, pairs = [], [], []
    for lv in levels:
        c = f"{experiment}-{task}-{lv}"
        meta.append(dict(experiment=experiment, factor=factor, task=task, level=float(lv), condition=c))
        ood_sd = 0.5 + slope * 0.3 * lv if slope >= 0 else 0.5 + abs(slope) * 0.3 * (len(levels) + 1 - lv)
        for s in range(k):
            nets.append(dict(condition=c, seed=s, status="converged", converged=True, epochs=5, steps=640,
                             final_loss=1e-3, ood_mse=rng.normal(5.0, ood_sd), weight_change=1.0,
                             weight_change_rel=0.1, kernel_alignment=0.5, n_units=64))
        for a in range(k):
            pairs.append(dict(condition=c, seed_a=a, seed_b=a, metric="dsa_null", value=0.01))
            for b in range(a + 1, k):
                pairs.append(dict(condition=c, seed_a=a, seed_b=b, metric="dsa", value=rng.normal(2 + slope * lv, 0.3)))
                pairs.append(dict(condition=c, seed_a=a, seed_b=b, metric="weight_aligned",
                                  value=rng.normal(10 + slope * lv, 0.3)))
    return pd.DataFrame(meta), pd.DataFrame(nets), pd.DataFrame(pairs)


def test_pair_matrix_symmetric_and_ignores_nulls():
    df = pd.DataFrame({"seed_a": [0, 0, 1, 2], "seed_b": [1, 2, 2, 2], "value": [1.0, 2.0, 3.0, 99.0]})
    m, seeds = pair_matrix(df)
    assert seeds == [0, 1, 2]
    assert np.allclose(m, m.T, equal_nan=True)
    assert np.isnan(np.diag(m)).all()
    assert m[0, 1] == 1.0 and m[2, 1] == 3.0
    # seeds restrict the networks
    m2, s2 = pair_matrix(df, seeds=[0, 2])
    assert s2 == [0, 2] and m2[0, 1] == 2.0


def test_bootstrap_mean_pairwise_hand_computed():
    df = pd.DataFrame({"seed_a": [0, 0, 1], "seed_b": [1, 2, 2], "value": [1.0, 2.0, 3.0]})
    mean, lo, hi = bootstrap_mean_pairwise(df, [0, 1, 2], n_boot=500, rng=0)
    assert mean == pytest.approx(2.0)
    assert 1.0 <= lo <= mean <= hi <= 3.0


def test_bootstrap_constant_pairs_and_same_network_skipped():
    # two networks: every replicate that has a between-network pair equals 7 (same-network pairs skipped)
    df = pd.DataFrame({"seed_a": [3], "seed_b": [5], "value": [7.0]})
    assert bootstrap_mean_pairwise(df, None, n_boot=200, rng=1) == (7.0, 7.0, 7.0)
    reps = pairwise_mean_replicates(pair_matrix(df)[0], 200, np.random.default_rng(0))
    assert np.all(reps == 7.0)


def test_bootstrap_too_few_networks_is_nan():
    df = pd.DataFrame({"seed_a": [0], "seed_b": [1], "value": [1.0]})
    assert all(np.isnan(bootstrap_mean_pairwise(df, [0], n_boot=50, rng=0)))
    assert all(np.isnan(bootstrap_mean_pairwise(df.iloc[0:0], None, n_boot=50, rng=0)))
    assert all(np.isnan(bootstrap_sd([1.0], n_boot=50, rng=0)))


def test_bootstrap_interval_contains_truth_and_shrinks():
    rng = np.random.default_rng(42)
    widths = []
    for k in (8, 40):
        df = pairs_frame(k, 1.0, 0.2, rng)
        mean, lo, hi = bootstrap_mean_pairwise(df, None, n_boot=400, rng=np.random.default_rng(k))
        assert lo <= 1.0 <= hi
        widths.append(hi - lo)
    assert widths[1] < widths[0]


def test_bootstrap_sd_ddof0_and_interval():
    sd, lo, hi = bootstrap_sd([1.0, 2.0, 3.0], n_boot=300, rng=0)
    assert sd == pytest.approx(np.sqrt(2.0 / 3.0))
    assert 0.0 <= lo <= sd <= hi
    assert bootstrap_sd(np.array([1.0, 2.0, np.nan, 3.0]), n_boot=10, rng=0)[0] == pytest.approx(np.sqrt(2 / 3))


def test_spearman_rho_ties_and_constant():
    assert spearman_rho(np.array([1, 2, 3, 4.0]), np.array([1, 5, 7, 9.0])) == pytest.approx(1.0)
    assert spearman_rho(np.array([1, 2, 3.0]), np.array([3, 2, 1.0])) == pytest.approx(-1.0)
    assert np.isnan(spearman_rho(np.array([1, 2, 3.0]), np.array([1, 1, 1.0])))
    rows = spearman_rho(np.array([1, 2, 3.0]), np.array([[1, 2, 3.0], [3, 2, 1.0]]))
    assert np.allclose(rows, [1, -1])


@pytest.mark.parametrize("slope,expected", [(1.0, "up"), (-1.0, "down")])
def test_spearman_effect_planted_trend_pairwise(slope, expected):
    rng = np.random.default_rng(1)
    levels = [1, 2, 3, 4]
    mats = [pair_matrix(pairs_frame(10, 2 + slope * lv, 0.3, rng))[0] for lv in levels]
    eff = spearman_effect(levels, mats, "pairwise_mean", n_boot=300, rng=0)
    assert eff.direction == expected
    assert np.sign(eff.rho) == np.sign(slope)
    assert eff.lo > 0 if slope > 0 else eff.hi < 0
    assert eff.n_levels == 4


def test_spearman_effect_planted_trend_sd():
    rng = np.random.default_rng(2)
    levels = [1, 2, 3, 4]
    samples = [rng.normal(0, 0.2 * lv**2, size=20) for lv in levels]
    eff = spearman_effect(levels, samples, "sd", n_boot=300, rng=0)
    assert eff.direction == "up" and eff.rho > 0 and eff.lo > 0


def test_spearman_effect_no_trend_inconclusive():
    levels = [1, 2, 3, 4]
    outcomes = []
    for seed in range(5):
        rng = np.random.default_rng(100 + seed)
        mats = [pair_matrix(pairs_frame(8, 2.0, 0.3, rng))[0] for _ in levels]
        outcomes.append(spearman_effect(levels, mats, "pairwise_mean", n_boot=300, rng=seed).direction)
    assert outcomes.count("inconclusive") >= 4
    eff = spearman_effect(levels, mats, "pairwise_mean", n_boot=300, rng=0)
    if eff.direction == "inconclusive":
        assert eff.lo <= 0 <= eff.hi and "0" in eff.reason


def test_spearman_effect_too_few_levels():
    rng = np.random.default_rng(3)
    mats = [pair_matrix(pairs_frame(6, m, 0.1, rng))[0] for m in (1.0, 5.0)]
    eff = spearman_effect([1, 2], mats, "pairwise_mean", n_boot=100, rng=0)
    assert eff.direction == "inconclusive" and "level" in eff.reason
    # a condition without finite values does not count as a level
    mats3 = mats + [np.full((1, 1), np.nan)]
    eff3 = spearman_effect([1, 2, 3], mats3, "pairwise_mean", n_boot=100, rng=0)
    assert eff3.direction == "inconclusive" and eff3.n_levels == 2
    # two-level factors can be tested when the caller asks for it
    eff2 = spearman_effect([1, 2], mats, "pairwise_mean", n_boot=100, rng=0, min_levels=2)
    assert eff2.direction == "up"


def test_paper_directions():
    assert set(PAPER_DIRECTIONS) == {"channels", "delay", "auxiliary", "gamma", "width", "l1", "nuclear"}
    assert PAPER_DIRECTIONS["gamma"] == {"behavior": "up", "dynamics": "down", "weights": "up"}
    assert PAPER_DIRECTIONS["channels"]["weights"] == "up"
    assert all(v == "down" for v in PAPER_DIRECTIONS["width"].values())


def test_effects_table_planted_and_verdicts():
    meta, nets, pairs = synth(slope=1.0)
    df = effects_table(meta, nets, pairs, n_boot=200, seed=0)
    assert list(df["level_of_degeneracy"]) == ["behavior", "dynamics", "weights"]
    d = df.set_index("level_of_degeneracy")
    assert (d["observed"] == "up").all()
    # paper: channels -> behavior down, dynamics down, weights up
    assert d.loc["behavior", "verdict"] == "disagree" and d.loc["dynamics", "verdict"] == "disagree"
    assert d.loc["weights", "verdict"] == "agree" and bool(d.loc["weights", "agrees"])
    # deterministic
    df2 = effects_table(meta, nets, pairs, n_boot=200, seed=0)
    pd.testing.assert_frame_equal(df, df2)
    md = effects_markdown(df)
    assert md.count("\n|") >= 4 and "agree: 1 / disagree: 2 / inconclusive: 0" in md


def test_effects_table_flat_and_empty():
    meta, nets, pairs = synth(slope=0.0, seed=5)
    df = effects_table(meta, nets, pairs, n_boot=200, seed=0)
    assert (df["verdict"] == "inconclusive").sum() >= 2
    assert df.loc[df["verdict"] == "inconclusive", "agrees"].isna().all()
    empty = effects_table(meta.iloc[0:0], nets.iloc[0:0], pairs.iloc[0:0], n_boot=10)
    assert len(empty) == 0 and "verdict" in empty.columns
    assert "inconclusive: 0" in effects_markdown(empty)


def test_effects_table_width_uses_per_n2_and_unconverged_excluded():
    meta, nets, pairs = synth(slope=-1.0, factor="width", experiment="width")
    per = pairs[pairs["metric"] == "weight_aligned"].assign(metric="weight_aligned_per_n2")
    per["value"] = per["value"] / 64**2
    pairs = pd.concat([pairs, per], ignore_index=True)
    # a condition where only one network converged: no finite degeneracy there
    c0 = meta["condition"].iloc[0]
    nets.loc[(nets["condition"] == c0) & (nets["seed"] > 0), ["converged", "status"]] = [False, "not_converged"]
    df = effects_table(meta, nets, pairs, n_boot=100, seed=0).set_index("level_of_degeneracy")
    assert d_metric(df) == "weight_aligned_per_n2"
    assert (df["n_conditions"] == 3).all() and (df["n_levels"] == 3).all()
    assert df.loc["dynamics", "observed"] == "down" and df.loc["dynamics", "verdict"] == "agree"


def d_metric(df):
    return df.loc["weights", "metric"]
