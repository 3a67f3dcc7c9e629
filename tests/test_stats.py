"""Bootstrap helpers, multiplicity corrections and intervals against hand computations and scipy
(degeneracy.stats). The verdict procedure itself is tested in tests/test_verdicts_*.py."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from degeneracy.stats import (
    PAPER_DIRECTIONS,
    adjust_p_values,
    benjamini_hochberg,
    bootstrap_mean_pairwise,
    bootstrap_sd,
    holm,
    pair_matrix,
    paired_draws,
    paired_mean_replicates,
    paired_pairwise_replicates,
    paired_sd_replicates,
    pairwise_mean_replicates,
    sd_replicates,
    spearman_rho,
    studentized_p_value,
    wilson_interval,
)


def pairs_frame(k, mean, sd, rng, seeds=None):
    seeds = list(range(k)) if seeds is None else seeds
    rows = [(a, b, rng.normal(mean, sd)) for i, a in enumerate(seeds) for b in seeds[i + 1 :]]
    return pd.DataFrame(rows, columns=["seed_a", "seed_b", "value"])


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


def test_bootstrap_sd_ddof1_and_interval():
    sd, lo, hi = bootstrap_sd([1.0, 2.0, 3.0], n_boot=300, rng=0)
    assert sd == pytest.approx(1.0)  # sample SD: sum of squares 2 over n - 1 = 2
    assert 0.0 <= lo <= sd <= hi
    assert bootstrap_sd(np.array([1.0, 2.0, np.nan, 3.0]), n_boot=10, rng=0)[0] == pytest.approx(1.0)
    # replicates are sample SDs of resamples: a resample of [1, 1, 3] has SD sqrt(4/3)
    reps = sd_replicates([1.0, 2.0, 3.0], 2000, 0)
    assert set(np.round(reps, 6)) <= {0.0, round(np.sqrt(1 / 3), 6), round(np.sqrt(4 / 3), 6), 1.0}


def test_spearman_rho_ties_and_constant():
    assert spearman_rho(np.array([1, 2, 3, 4.0]), np.array([1, 5, 7, 9.0])) == pytest.approx(1.0)
    assert spearman_rho(np.array([1, 2, 3.0]), np.array([3, 2, 1.0])) == pytest.approx(-1.0)
    assert np.isnan(spearman_rho(np.array([1, 2, 3.0]), np.array([1, 1, 1.0])))
    rows = spearman_rho(np.array([1, 2, 3.0]), np.array([[1, 2, 3.0], [3, 2, 1.0]]))
    assert np.allclose(rows, [1, -1])


def test_paper_directions():
    assert set(PAPER_DIRECTIONS) == {"channels", "delay", "auxiliary", "gamma", "width", "l1", "nuclear"}
    assert PAPER_DIRECTIONS["gamma"] == {"behavior": "up", "dynamics": "down", "weights": "up"}
    assert PAPER_DIRECTIONS["channels"]["weights"] == "up"
    assert all(v == "down" for v in PAPER_DIRECTIONS["width"].values())


def test_spearman_rho_matches_scipy():
    rng = np.random.default_rng(0)
    x = np.array([1.0, 2.0, 2.0, 4.0, 8.0])
    for _ in range(5):
        y = rng.normal(size=5)
        assert spearman_rho(x, y) == pytest.approx(sps.spearmanr(x, y).statistic)


def test_holm_hand_computed():
    p = np.array([0.01, 0.04, 0.03, np.nan, 0.005])
    # sorted finite: 0.005, 0.01, 0.03, 0.04 with multipliers 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04
    # then the running maximum: 0.02, 0.03, 0.06, 0.06
    adj = holm(p)
    assert adj[4] == pytest.approx(0.02) and adj[0] == pytest.approx(0.03)
    assert adj[2] == pytest.approx(0.06) and adj[1] == pytest.approx(0.06)
    assert np.isnan(adj[3])
    assert holm(np.array([0.5, 0.9]))[1] == 1.0  # capped at 1
    np.testing.assert_allclose(adjust_p_values(p, "holm"), adj, equal_nan=True)


def test_benjamini_hochberg_matches_scipy():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=12) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), sps.false_discovery_control(p, method="bh"))
    with pytest.raises(ValueError, match="correction"):
        adjust_p_values(p, "bonferroni")


def test_wilson_interval_matches_scipy():
    for k, n in ((0, 5), (3, 5), (5, 5), (17, 40)):
        rate, lo, hi = wilson_interval(k, n)
        ci = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert rate == pytest.approx(k / n)
        assert (lo, hi) == (pytest.approx(ci.low, abs=1e-12), pytest.approx(ci.high, abs=1e-12))
    assert all(np.isnan(wilson_interval(0, 0)))


def test_studentized_p_value_is_a_one_sample_t_test():
    # replicates whose SD equals the standard error of a sample give the t-test of that sample
    x = np.array([0.3, -0.1, 0.8, 0.4, 0.2, 0.5])
    se = x.std(ddof=1) / np.sqrt(x.size)
    z = np.random.default_rng(0).standard_normal(4000)
    reps = x.mean() + se * (z - z.mean()) / z.std(ddof=1)
    expected = sps.ttest_1samp(x, 0.0).pvalue
    assert studentized_p_value(x.mean(), reps, n_units=x.size) == pytest.approx(expected, rel=1e-9)
    assert np.isnan(studentized_p_value(1.0, reps, n_units=1))
    # replicates that do not vary carry no information about the uncertainty
    assert np.isnan(studentized_p_value(1.0, np.ones(10), 5))
    assert np.isnan(studentized_p_value(1.0, 1.0 + 1e-16 * np.arange(10), 5))  # rounding noise


def test_paired_replicates_follow_the_shared_draws():
    m = np.array([[np.nan, 1.0, 2.0], [1.0, np.nan, 3.0], [2.0, 3.0, np.nan]])
    draws = np.array([[0, 1, 2], [0, 0, 1], [2, 2, 2], [1, 2, 2]])
    # row 0: pairs 01, 02, 12 -> 2; row 1: 0-1 twice -> 1; row 2: one network -> NaN; row 3: 1-2 twice -> 3
    np.testing.assert_allclose(paired_pairwise_replicates(m, draws), [2.0, 1.0, np.nan, 3.0])
    v = np.array([1.0, 2.0, np.nan])
    # row 0: 1, 2 (NaN dropped); row 1: 1, 1, 2; row 2: all NaN; row 3: 2 only
    np.testing.assert_allclose(
        paired_sd_replicates(v, draws), [np.std([1, 2], ddof=1), np.std([1, 1, 2], ddof=1), np.nan, np.nan]
    )
    np.testing.assert_allclose(paired_mean_replicates(v, draws), [1.5, 4 / 3, np.nan, 2.0])
    d = paired_draws(5, 100, 0)
    assert d.shape == (100, 5) and d.min() >= 0 and d.max() <= 4
    np.testing.assert_array_equal(d, paired_draws(5, 100, 0))


def test_se_scale_turns_the_plug_in_bootstrap_se_of_a_mean_into_the_t_test():
    # the bootstrap SD of a mean is the plug-in SE, sd(ddof=0) / sqrt(n); times sqrt(n / (n - 1))
    # it is the usual SE, and the p-value is scipy's one-sample t-test
    x = np.array([0.3, -0.1, 0.8, 0.4, 0.2, 0.5])
    n = x.size
    plug_in = x.std(ddof=0) / np.sqrt(n)
    z = np.random.default_rng(1).standard_normal(4000)
    reps = x.mean() + plug_in * (z - z.mean()) / z.std(ddof=1)
    expected = sps.ttest_1samp(x, 0.0).pvalue
    assert studentized_p_value(x.mean(), reps, n, se_scale=np.sqrt(n / (n - 1))) == pytest.approx(expected, rel=1e-9)
    assert studentized_p_value(x.mean(), reps, n) < expected  # unscaled: too small
