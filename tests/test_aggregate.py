"""Per-condition summary (degeneracy.aggregate.summarise) on hand-computed cases."""

import numpy as np
import pandas as pd
import pytest

from degeneracy.aggregate import SUMMARY_COLUMNS, summarise


def tables():
    meta = pd.DataFrame(
        [
            dict(experiment="complexity", factor="channels", task="flipflop", level=1.0, condition="ff1"),
            dict(experiment="complexity", factor="channels", task="flipflop", level=2.0, condition="ff2"),
            dict(experiment="memory", factor="delay", task="delayed_discrimination", level=20.0, condition="dd"),
            dict(experiment="complexity", factor="channels", task="sine", level=1.0, condition="empty"),
            # the same condition in a second experiment
            dict(experiment="auxiliary", factor="auxiliary", task="flipflop", level=0.0, condition="ff1"),
        ]
    )
    nets = []

    def net(cond, seed, status, ood, wc=1.0, ka=0.5):
        nets.append(
            dict(
                condition=cond,
                seed=seed,
                status=status,
                converged=status == "converged",
                epochs=3,
                steps=384,
                final_loss=1e-3,
                ood_mse=ood,
                weight_change=wc,
                weight_change_rel=wc / 10,
                kernel_alignment=ka,
                kernel_alignment_centred=ka / 2,
                kernel_alignment_probe_sd=0.01 * (seed + 1),
                kernel_alignment_centred_probe_sd=0.02 * (seed + 1),
                n_units=64,
            )
        )

    # ff1: 3 converged networks + one diverged + one not converged
    net("ff1", 0, "converged", 1.0, wc=1.0, ka=0.2)
    net("ff1", 1, "converged", 2.0, wc=2.0, ka=0.4)
    net("ff1", 2, "converged", 3.0, wc=3.0, ka=0.6)
    net("ff1", 3, "diverged", np.nan)
    net("ff1", 4, "not_converged", 50.0, wc=100.0)
    # ff2: 4 converged
    for s in range(4):
        net("ff2", s, "converged", 1.0 + s)
    # dd: a single converged network
    net("dd", 0, "converged", 4.0)
    net("dd", 1, "not_converged", 9.0)
    nets = pd.DataFrame(nets)

    pairs = []
    for (a, b), v in {(0, 1): 1.0, (0, 2): 2.0, (1, 2): 3.0}.items():
        pairs.append(dict(condition="ff1", seed_a=a, seed_b=b, metric="dsa", value=v))
        pairs.append(dict(condition="ff1", seed_a=a, seed_b=b, metric="weight_aligned", value=10 * v))
        pairs.append(dict(condition="ff1", seed_a=a, seed_b=b, metric="weight_aligned_per_n2", value=10 * v / 64**2))
        pairs.append(dict(condition="ff1", seed_a=a, seed_b=b, metric="weight_unaligned", value=100.0))
        pairs.append(dict(condition="ff1", seed_a=a, seed_b=b, metric="weight_scale_free", value=v / 10))
        pairs.append(dict(condition="ff1", seed_a=a, seed_b=b, metric="weight_aligned_init", value=64.0 * v))
        pairs.append(dict(condition="ff1", seed_a=a, seed_b=b, metric="weight_gap", value=v / 1000))
        pairs.append(dict(condition="ff1", seed_a=a, seed_b=b, metric="svcca", value=v / 10))
        pairs.append(dict(condition="ff1", seed_a=a, seed_b=b, metric="svcca_probe2", value=v / 10 + 0.05))
    pairs.append(dict(condition="ff1", seed_a=1, seed_b=4, metric="svcca", value=5.0))  # not converged: ignored
    pairs.append(dict(condition="ff1", seed_a=1, seed_b=4, metric="svcca_probe2", value=5.0))  # ignored too
    # a pair with a non-converged network must be ignored even if present
    pairs.append(dict(condition="ff1", seed_a=0, seed_b=4, metric="dsa", value=1000.0))
    for s, v in enumerate([0.1, 0.2, 0.3]):
        pairs.append(dict(condition="ff1", seed_a=s, seed_b=s, metric="dsa_null", value=v))
    rng = np.random.default_rng(0)
    for a in range(4):
        for b in range(a + 1, 4):
            pairs.append(dict(condition="ff2", seed_a=a, seed_b=b, metric="dsa", value=rng.uniform(1, 2)))
    return meta, nets, pd.DataFrame(pairs)


def test_summary_columns_rows_and_counts():
    meta, nets, pairs = tables()
    s = summarise(meta, nets, pairs, n_boot=200, seed=0)
    assert list(s.columns) == SUMMARY_COLUMNS
    assert len(s) == len(meta)
    r = s[(s.condition == "ff1") & (s.experiment == "complexity")].iloc[0]
    assert (r.n_seeds, r.n_converged, r.n_excluded, r.n_diverged, r.n_not_converged) == (5, 3, 2, 1, 1)
    assert "2 of 5 networks excluded" in r.note
    assert s["n_seeds"].dtype == np.int64 and s["dsa_mean"].dtype == np.float64


def test_summary_hand_computed_values():
    meta, nets, pairs = tables()
    s = summarise(meta, nets, pairs, n_boot=200, seed=0)
    r = s[(s.condition == "ff1") & (s.experiment == "complexity")].iloc[0]
    assert r.dsa_mean == pytest.approx(2.0)
    assert 1.0 <= r.dsa_lo <= 2.0 <= r.dsa_hi <= 3.0
    assert r.weight_mean == pytest.approx(20.0)
    assert r.weight_per_n2_mean == pytest.approx(20.0 / 64**2)
    assert r.weight_unaligned_mean == pytest.approx(100.0)
    assert r.dsa_null_mean == pytest.approx(0.2)
    assert r.behavior_sd == pytest.approx(1.0)  # sample SD (ddof=1) of 1, 2, 3: converged only
    assert r.behavior_sd == pytest.approx(float(np.std([1.0, 2.0, 3.0], ddof=1)))
    assert r.behavior_sd_lo <= r.behavior_sd <= r.behavior_sd_hi
    assert r.ood_mse_mean == pytest.approx(2.0)
    assert r.weight_change_mean == pytest.approx(2.0)
    assert r.weight_change_se == pytest.approx(1.0 / np.sqrt(3.0))
    assert r.weight_change_rel_mean == pytest.approx(0.2)
    assert r.kernel_alignment_mean == pytest.approx(0.4)
    assert r.kernel_alignment_se == pytest.approx(0.2 / np.sqrt(3.0))
    # centred KA (0.1, 0.2, 0.3) and the probe SD (0.01, 0.02, 0.03) of the converged networks only
    assert r.kernel_alignment_centred_mean == pytest.approx(0.2)
    assert r.kernel_alignment_centred_se == pytest.approx(0.1 / np.sqrt(3.0))
    assert r.kernel_alignment_probe_sd_mean == pytest.approx(0.02)
    assert r.kernel_alignment_centred_probe_sd_mean == pytest.approx(0.04)
    assert r.weight_change_rel_se == pytest.approx(0.1 / np.sqrt(3.0))
    # representations: mean pairwise SVCCA of the converged networks (0.1, 0.2, 0.3)
    assert r.svcca_mean == pytest.approx(0.2)
    assert 0.1 <= r.svcca_lo <= 0.2 <= r.svcca_hi <= 0.3
    assert np.isnan(s.loc[s.condition == "ff2", "svcca_mean"]).all()
    # the same on the second probe batch (0.15, 0.25, 0.35) and the probe-to-probe spread
    assert r.svcca_probe2_mean == pytest.approx(0.25)
    assert r.svcca_probe_diff == pytest.approx(0.05)
    assert np.isnan(s.loc[s.condition == "ff2", ["svcca_probe2_mean", "svcca_probe_diff"]].to_numpy()).all()
    # no fixed-point columns in the networks table: NaN
    assert np.isnan(r.n_line_attractor_like_mean) and np.isnan(r.frac_line_attractor_like_mean)
    # weight baselines: scale-free, initial matrices (also per n^2), the alignment gap
    assert r.weight_scale_free_mean == pytest.approx(0.2)
    assert r.weight_scale_free_lo <= 0.2 <= r.weight_scale_free_hi
    assert r.weight_aligned_init_mean == pytest.approx(128.0)
    assert r.weight_aligned_init_per_n2_mean == pytest.approx(128.0 / 64**2)
    assert r.weight_gap_mean == pytest.approx(0.002) and r.weight_gap_max == pytest.approx(0.003)
    # the within-network null gets an interval over networks (values 0.1, 0.2, 0.3)
    assert 0.1 <= r.dsa_null_lo <= 0.2 <= r.dsa_null_hi <= 0.3


def test_summary_convergence_rate_wilson_and_min_networks():
    from scipy.stats import binomtest

    meta, nets, pairs = tables()
    s = summarise(meta, nets, pairs, n_boot=50, seed=0, min_networks=3)
    r = s[(s.condition == "ff1") & (s.experiment == "complexity")].iloc[0]
    assert r.convergence_rate == pytest.approx(3 / 5)
    ci = binomtest(3, 5).proportion_ci(confidence_level=0.95, method="wilson")
    assert (r.convergence_lo, r.convergence_hi) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert r.sufficient and r.min_networks == 3
    dd = s[s.condition == "dd"].iloc[0]
    assert not dd.sufficient and "insufficient: 1 converged" in dd.note
    assert dd.convergence_rate == pytest.approx(0.5)
    ff2 = s[s.condition == "ff2"].iloc[0]
    assert ff2.sufficient  # 4 converged
    assert (
        not summarise(meta, nets, pairs, n_boot=50, seed=0, min_networks=5)
        .set_index("condition")
        .loc["ff2", "sufficient"]
        .any()
    )
    e = s[s.condition == "empty"].iloc[0]
    assert np.isnan(e.convergence_rate) and not e.sufficient


def test_summary_uses_the_converged_column_not_the_training_status():
    # status "converged" but the held-out error was above threshold (converged False): excluded
    meta, nets, pairs = tables()
    nets.loc[(nets.condition == "ff2") & (nets.seed == 3), "converged"] = False
    nets["eval_mse"] = 1e-4
    s = summarise(meta, nets, pairs, n_boot=20, seed=0)
    ff2 = s[s.condition == "ff2"].iloc[0]
    assert (ff2.n_converged, ff2.n_not_converged, ff2.n_diverged) == (3, 1, 0)
    assert ff2.ood_mse_mean == pytest.approx(2.0)  # 1, 2, 3 (seed 3's 4.0 excluded)
    assert ff2.eval_mse_mean == pytest.approx(1e-4)


def test_summary_one_or_zero_converged_is_nan_with_note():
    meta, nets, pairs = tables()
    s = summarise(meta, nets, pairs, n_boot=50, seed=0)
    dd = s[s.condition == "dd"].iloc[0]
    assert dd.n_converged == 1
    for c in ("behavior_sd", "behavior_sd_lo", "dsa_mean", "dsa_lo", "dsa_hi", "weight_mean", "weight_per_n2_mean"):
        assert np.isnan(dd[c])
    assert dd.ood_mse_mean == pytest.approx(4.0)
    assert "fewer than 2 converged networks" in dd.note
    e = s[s.condition == "empty"].iloc[0]
    assert e.n_seeds == 0 and e.n_converged == 0 and np.isnan(e.dsa_mean) and "no networks" in e.note


def test_summary_missing_metric_and_determinism():
    meta, nets, pairs = tables()
    s1 = summarise(meta, nets, pairs, n_boot=100, seed=3)
    s2 = summarise(meta.sample(frac=1.0, random_state=1), nets, pairs, n_boot=100, seed=3)
    pd.testing.assert_frame_equal(s1, s2)
    ff2 = s1[s1.condition == "ff2"].iloc[0]
    assert np.isfinite(ff2.dsa_mean) and np.isnan(ff2.weight_mean) and "no finite weight pairs" in ff2.note
    # a condition shared by two experiments gets identical numbers
    a, b = s1[s1.condition == "ff1"].iloc[0], s1[s1.condition == "ff1"].iloc[1]
    assert a.experiment != b.experiment and a.dsa_lo == b.dsa_lo and a.behavior_sd_hi == b.behavior_sd_hi
    s3 = summarise(meta, nets, pairs, n_boot=100, seed=4)
    r1, r3 = s1[s1.condition == "ff2"].iloc[0], s3[s3.condition == "ff2"].iloc[0]
    assert r1.dsa_mean == r3.dsa_mean  # the point estimate does not depend on the seed
    assert (r1.dsa_lo, r1.dsa_hi, r1.behavior_sd_lo) != (r3.dsa_lo, r3.dsa_hi, r3.behavior_sd_lo)


def test_summary_empty_inputs():
    meta, nets, pairs = tables()
    assert list(summarise(meta.iloc[0:0], nets, pairs).columns) == SUMMARY_COLUMNS
    s = summarise(meta, nets.iloc[0:0], pairs.iloc[0:0], n_boot=10)
    assert len(s) == len(meta) and (s.n_seeds == 0).all() and s.dsa_mean.isna().all()


def test_summary_fixed_point_columns_over_converged_networks():
    meta, nets, pairs = tables()
    nets["n_fixed_points"] = 10.0
    nets["n_line_attractor_like"] = [1.0, 2.0, 6.0, 50.0, 50.0] + [0.0] * (len(nets) - 5)  # ff1 first
    nets["frac_line_attractor_like"] = nets["n_line_attractor_like"] / 10.0
    s = summarise(meta, nets, pairs, n_boot=300, seed=0)
    r = s[(s.condition == "ff1") & (s.experiment == "complexity")].iloc[0]
    assert r.n_fixed_points_mean == pytest.approx(10.0)
    assert r.n_line_attractor_like_mean == pytest.approx(3.0)  # 1, 2, 6: the diverged / not converged are out
    assert r.frac_line_attractor_like_mean == pytest.approx(0.3)
    assert 1.0 <= r.n_line_attractor_like_lo <= 3.0 <= r.n_line_attractor_like_hi <= 6.0
