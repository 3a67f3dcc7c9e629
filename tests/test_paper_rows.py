"""The effects-table rows beyond the three measures of degeneracy: representations (SVCCA),
feature learning (relative weight change, kernel alignment against task complexity), mean OOD
loss against gamma, and line-attractor-like fixed points against the auxiliary output.

Each row type is checked on synthetic studies with a planted effect (it is called, in the planted
direction) and without one (it is not called), its point ratio against a ratio of level means or
pair means computed here with pandas, and its p-value adjustment against Holm computed by hand
within its family (these rows are all secondary)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from degeneracy.stats import PAPER_DIRECTIONS, VERDICTS, effects_markdown, effects_table
from degeneracy.stats.effects import paper_direction
from degeneracy.stats.synthetic import synthetic_study

EXPS = (
    ("complexity", "channels", "flipflop"),
    ("gamma", "gamma", "sine"),
    ("auxiliary", "auxiliary", "delayed_discrimination"),
)
NEW = [
    ("complexity", "representations", "svcca"),
    ("complexity", "feature_learning", "weight_change_rel"),
    ("complexity", "feature_learning", "kernel_alignment"),
    ("gamma", "representations", "svcca"),
    ("gamma", "ood_loss", "ood_mse_mean"),
    ("auxiliary", "representations", "svcca"),
    ("auxiliary", "fixed_points", "n_line_attractor_like"),
]
PLANTED = {
    "effects": {"representations": 1 / 3.0},
    "mean_effects": {
        "weight_change_rel": 3.0,
        "kernel_alignment": 1 / 3.0,
        "ood_mse": 3.0,
        "n_line_attractor_like": 3.0,
    },
}


def study(seed=0, n_seeds=10, planted=True, levels=(1.0, 2.0, 3.0), experiments=EXPS):
    kw = PLANTED if planted else {}
    return synthetic_study(
        np.random.default_rng(seed), n_seeds=n_seeds, levels=levels, experiments=experiments, extras=True, **kw
    )


def new_rows(df):
    return df.set_index(["experiment", "measure", "metric"]).loc[NEW]


def holm(p):
    """Holm's step-down adjustment, written out here (NaN = not tested, left NaN)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    order = idx[np.argsort(p[idx])]
    m, running = len(order), 0.0
    for i, j in enumerate(order):
        running = max(running, (m - i) * p[j])
        out[j] = min(1.0, running)
    return out


def test_each_new_row_is_called_in_the_planted_direction():
    meta, nets, pairs = study()
    df = effects_table(meta, nets, pairs, n_boot=500, seed=0)
    r = new_rows(df)
    assert r["significant"].all(), r[["ratio", "p_adjusted"]]
    observed = dict(zip(r.index, r["observed"]))
    assert observed[("complexity", "representations", "svcca")] == "down"
    assert observed[("complexity", "feature_learning", "weight_change_rel")] == "up"
    assert observed[("complexity", "feature_learning", "kernel_alignment")] == "down"
    assert observed[("gamma", "ood_loss", "ood_mse_mean")] == "up"
    assert observed[("auxiliary", "fixed_points", "n_line_attractor_like")] == "up"
    # the paper's directions: more weight change, lower alignment, more line attractors with aux on,
    # mean OOD loss up with gamma; SVCCA has no stated direction (none is borrowed)
    verdicts = dict(zip(r.index, r["verdict"]))
    assert verdicts[("complexity", "feature_learning", "weight_change_rel")] == "agree"
    assert verdicts[("complexity", "feature_learning", "kernel_alignment")] == "agree"
    assert verdicts[("auxiliary", "fixed_points", "n_line_attractor_like")] == "agree"
    assert verdicts[("gamma", "ood_loss", "ood_mse_mean")] == "agree"
    for exp in ("complexity", "gamma", "auxiliary"):
        sv = r.loc[(exp, "representations", "svcca")]
        assert sv["paper"] == "unknown" and sv["verdict"] == "no paper direction" and pd.isna(sv["agrees"])
        assert "states no direction" in sv["reason"] and sv["called"]
    assert (r["family"] == "secondary").all()
    assert set(df["verdict"]) <= set(VERDICTS)
    # planted ratios (3 or 1/3), estimated
    for key, planted in (
        (("complexity", "feature_learning", "weight_change_rel"), 3.0),
        (("auxiliary", "fixed_points", "n_line_attractor_like"), 3.0),
        (("complexity", "representations", "svcca"), 1 / 3.0),
    ):
        assert r.loc[key, "ratio"] == pytest.approx(planted, rel=0.35)
        assert r.loc[key, "ratio_lo"] < r.loc[key, "ratio"] < r.loc[key, "ratio_hi"]


def test_no_effect_rows_are_not_called():
    called = []
    for seed in range(6):
        meta, nets, pairs = study(seed=100 + seed, n_seeds=8, planted=False)
        r = new_rows(effects_table(meta, nets, pairs, n_boot=300, seed=seed))
        assert r["p_value"].notna().all()  # tested, not skipped
        called.append(r["significant"].astype(bool).to_numpy())
        assert (r.loc[r["verdict"] != "no paper direction", "verdict"] == "inconclusive").all()
    assert np.concatenate(called).mean() <= 0.05


def test_row_values_against_means_computed_here():
    meta, nets, pairs = study(seed=3, n_seeds=6)
    # one network that did not converge must not count
    drop = (nets["condition"] == "complexity-flipflop-2") & (nets["seed"] == 0)
    nets.loc[drop, ["converged", "weight_change_rel"]] = [False, 1e6]
    df = effects_table(meta, nets, pairs, n_boot=200, seed=0)
    r = new_rows(df)
    conv = nets[nets["converged"]]
    means = conv.groupby("condition")[
        ["weight_change_rel", "kernel_alignment", "ood_mse", "n_line_attractor_like"]
    ].mean()
    hi, lo = "complexity-flipflop-2", "complexity-flipflop-0"
    for metric in ("weight_change_rel", "kernel_alignment"):
        row = r.loc[("complexity", "feature_learning", metric)]
        assert row["degeneracy_lowest"] == pytest.approx(means.loc[lo, metric])
        assert row["ratio"] == pytest.approx(means.loc[hi, metric] / means.loc[lo, metric])
    # kernel alignment is compared on the difference of the level means (numbers near 0 or 1)
    ka = r.loc[("complexity", "feature_learning", "kernel_alignment")]
    assert ka["effect_scale"] == "difference"
    assert ka["difference"] == pytest.approx(means.loc[hi, "kernel_alignment"] - means.loc[lo, "kernel_alignment"])
    assert r.loc[("gamma", "ood_loss", "ood_mse_mean"), "ratio"] == pytest.approx(
        means.loc["gamma-sine-2", "ood_mse"] / means.loc["gamma-sine-0", "ood_mse"]
    )
    assert r.loc[("auxiliary", "fixed_points", "n_line_attractor_like"), "ratio"] == pytest.approx(
        means.loc["auxiliary-delayed_discrimination-2", "n_line_attractor_like"]
        / means.loc["auxiliary-delayed_discrimination-0", "n_line_attractor_like"]
    )
    sv = pairs[pairs["metric"] == "svcca"]
    mean_pairs = (
        sv[~((sv["condition"] == hi) & ((sv["seed_a"] == 0) | (sv["seed_b"] == 0)))]
        .groupby("condition")["value"]
        .mean()
    )
    assert r.loc[("complexity", "representations", "svcca"), "ratio"] == pytest.approx(mean_pairs[hi] / mean_pairs[lo])
    assert r.loc[("complexity", "feature_learning", "weight_change_rel"), "networks"] == "1: 6/6, 2: 6/6, 3: 5/6"
    # Holm within each family: primary (3 per experiment), secondary (the rest)
    for family, g in df.groupby("family"):
        np.testing.assert_allclose(g["p_adjusted"], holm(g["p_value"]), rtol=1e-12)
    assert (df["family"] == "primary").sum() == 3 * 3
    # per experiment: 3 primary + CV + SD log + SVCCA; + 3 feature learning, + OOD mean, + fixed points
    assert (df["p_value"].notna()).sum() == len(df) == 3 * 6 + 3 + 1 + 1


def test_paper_directions_of_the_new_rows():
    for factor, dirs in PAPER_DIRECTIONS.items():
        assert paper_direction(factor, "representations", "svcca") == "unknown"
        assert paper_direction(factor, "behavior_relative", "ood_mse_cv") == "unknown"
        assert paper_direction(factor, "behavior", "ood_mse") == dirs["behavior"]
    assert paper_direction("channels", "feature_learning", "weight_change_rel") == "up"
    assert paper_direction("channels", "feature_learning", "kernel_alignment") == "down"
    assert paper_direction("auxiliary", "fixed_points", "n_line_attractor_like") == "up"
    assert paper_direction("gamma", "ood_loss", "ood_mse_mean") == "up"
    assert paper_direction("channels", "feature_learning", "kernel_alignment_centred") == "unknown"
    assert paper_direction("delay", "fixed_points", "n_line_attractor_like") == "unknown"
    assert paper_direction("my_factor", "representations", "svcca") is None


def test_rows_appear_only_where_their_data_are():
    meta, nets, pairs = study(seed=1, n_seeds=5)
    bare = effects_table(
        meta,
        nets[["condition", "seed", "status", "converged", "ood_mse", "n_units"]],
        pairs[pairs["metric"] != "svcca"],
        n_boot=100,
        seed=0,
    )
    assert set(bare["measure"]) == {
        "behavior",
        "behavior_relative",
        "dynamics",
        "weights",
        "ood_loss",
    }  # gamma: ood_mse always there
    full = effects_table(meta, nets, pairs, n_boot=100, seed=0)
    per_exp = full.groupby("experiment")["measure"].apply(set).to_dict()
    assert "fixed_points" not in per_exp["complexity"] and "feature_learning" not in per_exp["auxiliary"]
    assert "fixed_points" in per_exp["auxiliary"] and "representations" in per_exp["gamma"]


def test_min_networks_and_zero_lowest_mean():
    meta, nets, pairs = study(seed=2, n_seeds=6)
    aux0 = nets["condition"] == "auxiliary-delayed_discrimination-0"
    nets.loc[aux0, "n_line_attractor_like"] = 0.0  # no line attractors without the auxiliary output
    lvl = (nets["condition"] == "complexity-flipflop-1") & (nets["seed"] >= 2)
    nets.loc[lvl, "converged"] = False
    df = effects_table(meta, nets, pairs, n_boot=200, seed=0, min_networks=3)
    r = new_rows(df)
    fp = r.loc[("auxiliary", "fixed_points", "n_line_attractor_like")]
    assert fp["observed"] == "not tested" and np.isnan(fp["p_value"]) and fp["verdict"] == "inconclusive"
    assert "lowest level's value is 0" in fp["reason"]
    for key in NEW[:3]:
        assert r.loc[key, "verdict"] == "insufficient"
        assert "level 2 (complexity-flipflop-1: 2 of 6 converged)" in r.loc[key, "reason"]


def test_markdown_and_pipeline_read_fixed_point_files(tmp_path):
    from degeneracy.pipeline.collect import attach_fixed_points, effects

    meta, nets, pairs = study(seed=4, n_seeds=6)
    fp_cols = ["n_line_attractor_like"]
    paths = []
    for row in nets[nets["n_line_attractor_like"].notna()].itertuples(index=False):
        n = float(row.n_line_attractor_like)
        f = pd.DataFrame(
            [
                {
                    "condition": row.condition,
                    "seed": row.seed,
                    "n_fixed_points": 10,
                    "n_stable": 5,
                    "n_saddle": 2,
                    "n_line_attractor_like": n,
                    "frac_line_attractor_like": n / 10,
                }
            ]
        )
        paths.append(tmp_path / f"fp_{row.condition}_{row.seed}.parquet")
        f.to_parquet(paths[-1])
    bare = nets.drop(columns=fp_cols)
    joined = attach_fixed_points(bare, paths)
    assert len(joined) == len(bare)
    aux = joined["condition"].str.startswith("auxiliary")
    assert (
        joined.loc[aux, "n_line_attractor_like"].notna().all()
        and joined.loc[~aux, "n_line_attractor_like"].isna().all()
    )
    assert attach_fixed_points(bare, []) is bare
    for name, df in (("meta", meta), ("networks", bare), ("pairwise", pairs)):
        df.to_parquet(tmp_path / f"{name}.parquet")
    settings = {"n_boot": 200, "seed": 0}
    args = (
        tmp_path / "meta.parquet",
        tmp_path / "networks.parquet",
        tmp_path / "pairwise.parquet",
        settings,
        tmp_path / "e.parquet",
        tmp_path / "e.md",
    )
    without = effects(*args)
    assert "fixed_points" not in set(without["measure"])
    df = effects(*args, fixed_point_paths=paths)
    ref = effects_table(meta, nets, pairs, n_boot=200, seed=0)
    key = ["experiment", "measure", "metric"]
    a = df.set_index(key).loc[("auxiliary", "fixed_points", "n_line_attractor_like")]
    b = ref.set_index(key).loc[("auxiliary", "fixed_points", "n_line_attractor_like")]
    assert a["ratio"] == pytest.approx(b["ratio"]) and a["p_value"] == pytest.approx(b["p_value"])
    md = (tmp_path / "e.md").read_text()
    assert md == effects_markdown(df) + ("" if effects_markdown(df).endswith("\n") else "\n")
    for measure, metric in (
        ("representations", "svcca"),
        ("feature_learning", "kernel_alignment"),
        ("ood_loss", "ood_mse_mean"),
        ("fixed_points", "n_line_attractor_like"),
    ):
        assert f"| {measure} | {metric} |" in md
    assert "no paper direction: 1" in md
