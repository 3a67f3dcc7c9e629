"""The gates of the effects table on planted synthetic tables: enough networks, the DSA noise floor,
multiplicity named and applied, robustness over DSA settings, the weight baselines (initial matrices,
alignment gap, scale-free), and a readable Markdown table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from degeneracy.stats import VERDICTS, effects_markdown, effects_table
from degeneracy.stats.synthetic import synthetic_study

EXP = (("complexity", "channels", "flipflop"),)
STRONG = {"behavior": 3.0, "dynamics": 3.0, "weights": 3.0}


def study(effects=STRONG, n_seeds=8, experiments=EXP, seed=0, levels=(1.0, 2.0, 3.0)):
    return synthetic_study(
        np.random.default_rng(seed), n_seeds=n_seeds, effects=effects, experiments=experiments, levels=levels
    )


def cells(df):
    """The primary cells (one per measure of degeneracy), indexed by measure."""
    return df[df["family"] == "primary"].set_index("measure")


def test_strong_planted_effect_every_column_filled():
    meta, nets, pairs = study()
    df = effects_table(meta, nets, pairs, n_boot=500, seed=0)
    d = cells(df)
    assert list(df["measure"]) == ["behavior", "dynamics", "weights", "behavior_relative", "behavior_relative"]
    assert list(df["family"]) == ["primary"] * 3 + ["secondary"] * 2
    assert list(d.index) == ["behavior", "dynamics", "weights"]
    assert (d["observed"] == "up").all() and d["significant"].all()
    # channels: the paper says behavior and dynamics go down, weights up
    assert list(d["verdict"]) == ["disagree", "disagree", "agree"]
    assert d.loc["weights", "agrees"] and not d.loc["behavior", "agrees"]
    assert (d["networks"] == "1: 8/8, 2: 8/8, 3: 8/8").all()
    assert (d["ratio_lo"] < d["ratio"]).all() and (d["ratio"] < d["ratio_hi"]).all()
    assert d.loc["dynamics", "ratio"] == pytest.approx(3.0, rel=0.35)
    assert bool(d.loc["dynamics", "above_noise_floor"])
    assert set(df["verdict"]) <= set(VERDICTS)
    pd.testing.assert_frame_equal(df, effects_table(meta, nets, pairs, n_boot=500, seed=0))


def test_a_level_below_min_networks_makes_every_cell_insufficient_and_names_it():
    meta, nets, pairs = study()
    mid = meta["condition"].iloc[1]
    drop = (nets["condition"] == mid) & (nets["seed"] >= 2)  # 2 of 8 converged at level 2
    nets.loc[drop, "converged"] = False
    df = effects_table(meta, nets, pairs, n_boot=200, seed=0, min_networks=3)
    assert (df["verdict"] == "insufficient").all() and (~df["sufficient"]).all()
    assert df["reason"].str.contains(f"level 2 \\({mid}: 2 of 8 converged\\)").all()
    assert df["p_value"].isna().all() and df["agrees"].isna().all()
    assert (df["networks"] == "1: 8/8, 2: 2/8, 3: 8/8").all()
    # with min_networks = 2 the same table gets verdicts
    df2 = effects_table(meta, nets, pairs, n_boot=200, seed=0, min_networks=2)
    assert (df2["verdict"] != "insufficient").all()


def test_multiplicity_named_and_applied_within_each_family():
    exps = (("complexity", "channels", "flipflop"), ("memory", "delay", "delayed_discrimination"))
    meta, nets, pairs = study(effects={"dynamics": 1.3}, experiments=exps, n_seeds=6)
    full = effects_table(meta, nets, pairs, n_boot=500, seed=0)
    # the secondary family (CV, SD of log OOD MSE) is adjusted on its own: adding it changes no
    # primary adjusted p-value
    sec = full[full["family"] == "secondary"]
    assert len(sec) == 4 and set(sec["measure"]) == {"behavior_relative"}
    ps = sec["p_value"].to_numpy()
    assert sec["p_adjusted"].iloc[int(np.argmin(ps))] == pytest.approx(min(1.0, len(ps) * ps.min()))
    df = full[full["family"] == "primary"].reset_index(drop=True)
    m = int(df["p_value"].notna().sum())
    assert m == 6
    p = df["p_value"].to_numpy()
    first = int(np.argmin(p))  # Holm's first step: the smallest p times the number of tests
    assert df["p_adjusted"].iloc[first] == pytest.approx(min(1.0, m * p[first]))
    assert (df["p_adjusted"] >= df["p_value"] - 1e-15).all()
    assert (df["correction"] == "Holm").all() and (df["alpha"] == 0.05).all()
    bh = effects_table(meta, nets, pairs, n_boot=500, seed=0, correction="bh")
    bh = bh[bh["family"] == "primary"].reset_index(drop=True)
    assert (bh["correction"] == "Benjamini-Hochberg").all()
    ps = np.sort(p)  # BH for the smallest p: min over j of m p_(j) / j
    assert bh["p_adjusted"].iloc[first] == pytest.approx(min(1.0, float((m * ps / np.arange(1, m + 1)).min())))
    assert (bh["p_adjusted"] <= df["p_adjusted"] + 1e-12).all()  # BH never stricter than Holm
    md = effects_markdown(full)
    assert "adjusted by Holm within each family (tested cells primary: 6, secondary: 4" in md
    with pytest.raises(ValueError, match="correction"):
        effects_table(meta, nets, pairs, n_boot=10, correction="none")


def _null_as_large_as_between(meta, pairs, i):
    cond = meta["condition"].iloc[i]
    between = pairs[(pairs.condition == cond) & (pairs.metric == "dsa")]["value"].mean()
    sel = (pairs.condition == cond) & (pairs.metric == "dsa_null")
    pairs.loc[sel, "value"] = between * 1.2
    return pairs


def test_dynamics_below_the_noise_floor_is_not_called():
    meta, nets, pairs = study()
    # at the most degenerate level (3: dynamics rise 3x) the null is as large as the distances
    pairs = _null_as_large_as_between(meta, pairs, 2)
    d = cells(effects_table(meta, nets, pairs, n_boot=500, seed=0))
    assert d.loc["dynamics", "observed"] == "up" and bool(d.loc["dynamics", "significant"])
    assert d.loc["dynamics", "verdict"] == "below noise floor" and not d.loc["dynamics", "called"]
    assert not d.loc["dynamics", "above_noise_floor"] and pd.isna(d.loc["dynamics", "agrees"])
    assert "most degenerate level (3)" in d.loc["dynamics", "reason"]
    assert d.loc["behavior", "verdict"] == "disagree"  # the other measures are not gated
    # no null rows at all: the floor cannot be checked, the cell is not called
    d2 = cells(effects_table(meta, nets, pairs[pairs.metric != "dsa_null"], n_boot=200, seed=0))
    assert d2.loc["dynamics", "verdict"] == "below noise floor"
    assert "no within-network null" in d2.loc["dynamics", "reason"]
    assert "below noise floor" in effects_markdown(pd.DataFrame([d.reset_index().iloc[1]]))


def test_a_strong_effect_may_take_the_least_degenerate_level_to_the_floor():
    # the floor gate applies to the most degenerate level: a level that an effect toward less
    # degeneracy brings down to the probe's floor is named, not a reason to withhold the verdict
    meta, nets, pairs = study()
    pairs = _null_as_large_as_between(meta, pairs, 0)
    d = cells(effects_table(meta, nets, pairs, n_boot=500, seed=0))
    assert bool(d.loc["dynamics", "above_noise_floor"]) and d.loc["dynamics", "verdict"] == "disagree"
    assert "level 1 within the DSA null" in d.loc["dynamics", "reason"]


def _grid(meta, pairs, flip_at=None):
    """A DSA settings grid: the default distances times a per-setting factor; ``flip_at`` reverses
    the trend (lowest level scaled up 10x) at one setting."""
    rows = []
    dsa = pairs[pairs.metric == "dsa"]
    low = meta["condition"].iloc[0]
    for rank in (5, 10, 20):
        for interval in (1, 2):
            factor = 1.0 + 0.1 * rank / 10
            g = dsa.assign(rank=rank, delay_interval=interval, n_delays=10, value=dsa["value"] * factor)
            if (rank, interval) == flip_at:
                g.loc[g.condition == low, "value"] *= 10.0
            rows.append(g)
    return pd.concat(rows, ignore_index=True)


def test_robust_column_from_the_dsa_grid():
    meta, nets, pairs = study()
    d = cells(effects_table(meta, nets, pairs, n_boot=200, seed=0, dsa_grid=_grid(meta, pairs)))
    assert d.loc["dynamics", "robust"] == True  # noqa: E712 (nullable boolean)
    assert d.loc["dynamics", "robust_settings"] == "6/6"
    assert pd.isna(d.loc["behavior", "robust"]) and pd.isna(d.loc["weights", "robust"])
    flipped = cells(effects_table(meta, nets, pairs, n_boot=200, seed=0, dsa_grid=_grid(meta, pairs, flip_at=(20, 2))))
    assert flipped.loc["dynamics", "robust"] == False  # noqa: E712
    assert flipped.loc["dynamics", "robust_settings"] == "5/6"
    assert flipped.loc["dynamics", "verdict"] == "disagree"  # robustness is reported, not a gate
    # without a grid the column is NA
    assert pd.isna(cells(effects_table(meta, nets, pairs, n_boot=50, seed=0)).loc["dynamics", "robust"])


def test_weight_baselines_init_trend_and_alignment_gap():
    meta, nets, pairs = study(effects={"weights": 2.0})
    # the synthetic initial matrices do not depend on the level: their ratio is 1
    d = cells(effects_table(meta, nets, pairs, n_boot=300, seed=0))
    assert d.loc["weights", "init_ratio"] == pytest.approx(1.0)
    assert d.loc["weights", "init_ratio_lo"] == pytest.approx(1.0) == d.loc["weights", "init_ratio_hi"]
    assert d.loc["weights", "beyond_gap"] == True  # noqa: E712 (gap <= 0.1%, effect ~100%)
    assert d.loc["weights", "gap_max"] <= 0.001
    # a gap as large as the effect: the verdict says so
    # the rule uses the mean gap of the pairs the effect rests on: the true ratio lies in
    # [ratio / (1 + g_hi), ratio * (1 + g_lo)]. A few large gaps among small ones do not hide a 2x
    # effect (the old rule, |ratio - 1| > sum of the two levels' largest gaps, did) ...
    few = pairs.copy()
    sel = few.index[few.metric == "weight_gap"]
    few.loc[sel[::20], "value"] = 0.9
    f = cells(effects_table(meta, nets, few, n_boot=300, seed=0))
    assert f.loc["weights", "gap_max"] == pytest.approx(0.9) and f.loc["weights", "gap_mean"] < 0.1
    assert f.loc["weights", "beyond_gap"] == True and f.loc["weights", "called"]  # noqa: E712
    # ... while mean gaps as large as the effect do
    big = pairs.copy()
    big.loc[big.metric == "weight_gap", "value"] = 1.5
    g = cells(effects_table(meta, nets, big, n_boot=300, seed=0))
    assert g.loc["weights", "beyond_gap"] == False  # noqa: E712
    assert g.loc["weights", "verdict"] == "inconclusive" and not g.loc["weights", "called"]
    assert "within what the alignment gaps allow" in g.loc["weights", "reason"]
    assert "within alignment gap" in effects_markdown(g.reset_index())


def width_study():
    """No trained effect over widths 32, 64, 128; the stored aligned distances grow like n (the
    per-n^2 value falls like 1/n), as do the initial matrices'."""
    meta, nets, pairs = study(effects={"weights": 1.0}, levels=(32.0, 64.0, 128.0))
    meta["factor"] = "width"
    for c, n in zip(meta["condition"], (32, 64, 128)):
        nets.loc[nets.condition == c, "n_units"] = n
        sel = (pairs.condition == c) & pairs.metric.isin(["weight_aligned", "weight_aligned_init"])
        pairs.loc[sel, "value"] *= n
    return meta, nets, pairs


def test_width_reports_per_n2_and_scale_free_with_the_initial_trend():
    meta, nets, pairs = width_study()
    sf = pairs[(pairs.metric == "weight_aligned")].assign(metric="weight_scale_free")
    sf["value"] = 0.5  # a flat scale-free distance
    sf["value"] += np.random.default_rng(1).normal(0, 0.01, len(sf))
    pairs = pd.concat([pairs, sf], ignore_index=True)
    df = effects_table(meta, nets, pairs, n_boot=400, seed=0)
    w = df[df.measure == "weights"].set_index("metric")
    assert list(w.index) == ["weight_aligned_per_n2", "weight_scale_free"]
    # per n^2: (128 / 128^2) / (32 / 32^2) = 1/4, already so at initialisation
    assert w.loc["weight_aligned_per_n2", "ratio"] == pytest.approx(0.25, rel=0.3)
    assert w.loc["weight_aligned_per_n2", "init_ratio"] == pytest.approx(0.25, rel=0.3)
    assert w.loc["weight_aligned_per_n2", "observed"] == "down"
    assert w.loc["weight_scale_free", "ratio"] == pytest.approx(1.0, abs=0.05)
    assert w.loc["weight_scale_free", "verdict"] == "inconclusive"
    md = effects_markdown(df)
    assert "initial matrices 0.2" in md


def test_markdown_reads_without_the_code():
    meta, nets, pairs = study()
    md = effects_markdown(effects_table(meta, nets, pairs, n_boot=100, seed=0))
    header = md.splitlines()[0]
    assert "| measure |" in header and "| level |" not in header
    assert "converged / trained per level" in header
    assert "1: 8/8, 2: 8/8, 3: 8/8" in md
    assert "?" not in md and "| nan" not in md
    assert (
        "Primary family: agree: 1 / disagree: 2 / inconclusive: 0 / below noise floor: 0 / insufficient: 0 (of 3 cells)"
        in md
    )


def test_pipeline_effects_reads_the_aggregate_settings_and_grid_files(tmp_path):
    from degeneracy.pipeline.collect import aggregate_settings, effects

    meta, nets, pairs = study()
    for name, df in (("meta", meta), ("networks", nets), ("pairwise", pairs)):
        df.to_parquet(tmp_path / f"{name}.parquet")
    grid = _grid(meta, pairs, flip_at=(5, 1))
    paths = []
    for c, g in grid.groupby("condition"):  # one grid file per condition, as the workflow writes them
        paths.append(tmp_path / f"grid_{c}.parquet")
        g.to_parquet(paths[-1])
    settings = {"n_boot": 200, "seed": 0, "min_networks": 9, "min_levels": 2}
    assert aggregate_settings(settings)["correction"] == "holm" and aggregate_settings(None)["min_networks"] == 3
    args = (
        tmp_path / "meta.parquet",
        tmp_path / "networks.parquet",
        tmp_path / "pairwise.parquet",
        settings,  # the same dict: changed in place below
        tmp_path / "e.parquet",
        tmp_path / "e.md",
    )
    df = effects(*args, dsa_grid_paths=paths)
    assert (df["verdict"] == "insufficient").all()  # 8 networks < min_networks 9
    settings["min_networks"] = 3
    df = effects(*args, dsa_grid_paths=paths)
    assert cells(df).loc["dynamics", "robust_settings"] == "5/6"
    assert pd.read_parquet(tmp_path / "e.parquet")["verdict"].tolist() == df["verdict"].tolist()
    assert "not robust to DSA settings (5/6)" in (tmp_path / "e.md").read_text()


def test_two_networks_per_level_are_not_tested():
    # with 2 networks every usable replicate repeats their single pair: no uncertainty estimate
    meta, nets, pairs = study(n_seeds=2)
    df = effects_table(meta, nets, pairs, n_boot=400, seed=0, min_networks=2)
    assert df["p_value"].isna().all() and (cells(df)["verdict"] == "inconclusive").all()
    assert (df.loc[df.family == "secondary", "verdict"] == "no paper direction").all()
    assert (df["observed"] == "not tested").all()
    assert cells(df)["reason"].str.contains("do not vary|bootstrap replicates defined").all()


def test_scaling_a_levels_ood_mse_moves_the_sd_not_the_cv():
    # behavior: every OOD MSE of the highest level times c gives a raw-SD ratio of c (times the
    # no-effect ratio) and leaves the CV and the SD of log OOD MSE where they were
    meta, nets, pairs = study(effects={})
    nets["ood_mse"] = np.exp(0.3 * np.random.default_rng(3).standard_normal(len(nets)))
    base = effects_table(meta, nets, pairs, n_boot=200, seed=0).set_index("metric")
    top = meta["condition"].iloc[-1]
    scaled = nets.copy()
    scaled.loc[scaled.condition == top, "ood_mse"] *= 4.0
    df = effects_table(meta, scaled, pairs, n_boot=200, seed=0).set_index("metric")
    assert df.loc["ood_mse", "ratio"] == pytest.approx(4.0 * base.loc["ood_mse", "ratio"])
    for m in ("ood_mse_cv", "ood_mse_log_sd"):
        assert df.loc[m, "ratio"] == pytest.approx(base.loc[m, "ratio"])
        assert df.loc[m, "measure"] == "behavior_relative" and df.loc[m, "family"] == "secondary"
        assert df.loc[m, "paper"] == "unknown"


def test_a_rise_that_peaks_at_the_middle_level_is_not_a_trend():
    # degeneracy 1 -> 4 -> 2 over three levels: the extremes differ 2x, but the middle level goes
    # against the trend, so the cell is not called (the old rule, extremes only, called it)
    meta, nets, pairs = study(effects={})
    for i, factor in enumerate((1.0, 4.0, 2.0)):
        sel = (pairs.condition == meta["condition"].iloc[i]) & (pairs.metric == "weight_aligned")
        pairs.loc[sel, "value"] *= factor
    w = cells(effects_table(meta, nets, pairs, n_boot=400, seed=0)).loc["weights"]
    assert w["observed"] == "up" and bool(w["significant"])
    assert w["monotone"] == False and not w["called"]  # noqa: E712
    assert w["verdict"] == "inconclusive" and "non-monotone: 2->3 goes down" in w["reason"]
    assert "1->2: ratio" in w["steps"] and "2->3: ratio" in w["steps"]
    # a monotone rise with the same extremes is called
    meta, nets, pairs = study(effects={})
    for i, factor in enumerate((1.0, 1.5, 2.0)):
        sel = (pairs.condition == meta["condition"].iloc[i]) & (pairs.metric == "weight_aligned")
        pairs.loc[sel, "value"] *= factor
    w = cells(effects_table(meta, nets, pairs, n_boot=400, seed=0)).loc["weights"]
    assert w["monotone"] == True and w["called"] and w["verdict"] == "agree"  # noqa: E712


def test_width_weights_use_the_ratio_to_the_initial_matrices():
    # per-n^2 falls like 1/n already at initialisation: not comparable across widths, so its cell
    # is secondary and not called; the per-pair ratio d_T / d_0 (flat before training) is primary
    meta, nets, pairs = width_study()
    t = pairs[pairs.metric == "weight_aligned"].set_index(["condition", "seed_a", "seed_b"])["value"]
    i = pairs[pairs.metric == "weight_aligned_init"].set_index(["condition", "seed_a", "seed_b"])["value"]
    ratio = (t / i).rename("value").reset_index().assign(metric="weight_ratio_init")
    pairs = pd.concat([pairs, ratio], ignore_index=True)
    df = effects_table(meta, nets, pairs, n_boot=400, seed=0)
    w = df[df.measure == "weights"].set_index("metric")
    assert list(w.index) == ["weight_ratio_init", "weight_aligned_per_n2", "weight_scale_free"]
    assert list(w["family"]) == ["primary", "secondary", "secondary"]
    per_n2 = w.loc["weight_aligned_per_n2"]
    assert per_n2["observed"] == "down" and per_n2["baseline_flat"] == False  # noqa: E712
    assert per_n2["verdict"] == "inconclusive" and "not comparable across levels" in per_n2["reason"]
    assert not w.loc["weight_ratio_init", "called"]
