"""The initial-matrix baseline of the weight distance across widths (issue 30, item 3).

``weight_ratio_init`` = d_T(a, b) / d_0(a, b), the aligned distance of a trained pair over the
aligned distance of the same pair's initial matrices, is the quantity to compare across widths:

- before training (W_T = W_0) it is exactly 1 at every width;
- for W_T = W_0 + eps G with the same relative eps (||eps G||_F = r ||W_0||_F) it is flat across
  n = 32, 64, 128 (real aligned search) and 512 (cheap search): the per-width means agree within
  2.5% (tolerance); measured: r = 0.1 gives 1.005, 1.004, 1.006 and r = 0.3 gives 1.049, 1.044,
  1.044 at n = 32, 64, 128 (cheap search, r = 0.3: 1.045, 1.044, 1.046 at n = 32, 128, 512);
- whereas ``weight_scale_free`` of independent initial matrices rises by ~11% from n = 32 to 128
  (1.13 -> 1.20 -> 1.25 at n = 32, 64, 128 with the real search; cheap search 1.17 -> 1.26 -> 1.33
  at 32, 128, 512), so a raw scale-free row across widths moves before any training.
"""

import numpy as np
import pandas as pd
import pytest

from degeneracy.io import atomic_write_parquet
from degeneracy.metrics.weights import pairwise_weight_distances, permutation_distance, ratio_to_init
from degeneracy.models import StandardRNN, recurrent_generator
from degeneracy.pipeline.pairwise_weights import pairwise_weights

#: FAQ from the barycenter + 2-opt only: fast enough for n = 512 in a test.
CHEAP = {"n_restarts": 0, "n_polish": 1, "tabu_iters": 0}
FLAT = 1.025  # largest max/min of the per-width mean ratios that counts as flat


def _init(n: int, seeds) -> list[np.ndarray]:
    """The standard RNN's initial recurrent matrices of these network seeds (the real init law)."""
    return [StandardRNN.draw_recurrent(n, recurrent_generator(s)).double().numpy() for s in seeds]


def _perturbed(W0: list[np.ndarray], r: float, n: int) -> list[np.ndarray]:
    """W_0 + eps G, G standard normal, eps such that ||eps G||_F = r ||W_0||_F (same relative eps)."""
    rng = np.random.default_rng(1000 + n)
    out = []
    for W in W0:
        G = rng.standard_normal(W.shape)
        out.append(W + r * np.linalg.norm(W) / np.linalg.norm(G) * G)
    return out


def _upper(M: np.ndarray) -> np.ndarray:
    return M[np.triu_indices(len(M), 1)]


def _network(tmp_path, n, seed, W, W0):
    net = tmp_path / f"net{n}_{seed}.parquet"
    atomic_write_parquet(pd.DataFrame({"condition": ["c"], "seed": [seed], "converged": [True]}), net)
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    cols = {"i": ii.ravel().astype(np.int32), "j": jj.ravel().astype(np.int32), "value": W.ravel()}
    cols["value_init"] = W0.ravel()
    wpath = tmp_path / f"weights{n}_{seed}.parquet"
    atomic_write_parquet(pd.DataFrame(cols), wpath)
    return net, wpath


def test_stage_writes_the_baseline_and_an_untrained_pair_has_ratio_one(tmp_path):
    """The pairwise stage stores weight_scale_free_init and weight_ratio_init per pair; with the
    trained matrices equal to the initial ones the ratio is exactly 1 at every width, while the
    stored scale-free distance of the same pairs rises with n."""
    seeds = [3, 5, 8]
    sf = {}
    for n in (32, 64, 128):
        W0 = _init(n, seeds)
        files = [_network(tmp_path, n, s, W, W) for s, W in zip(seeds, W0)]
        df = pairwise_weights(
            "c", [f[0] for f in files], [f[1] for f in files], {"seed": 0, **CHEAP}, tmp_path / f"p{n}.parquet"
        )
        by = {m: g.set_index(["seed_a", "seed_b"])["value"] for m, g in df.groupby("metric")}
        assert len(by["weight_ratio_init"]) == 3
        assert (by["weight_ratio_init"] == 1.0).all()
        pd.testing.assert_series_equal(by["weight_scale_free_init"], by["weight_scale_free"], check_names=False)
        r = permutation_distance(W0[0], W0[2], seed=[0, 3, 8], **CHEAP)
        assert by["weight_scale_free_init"][(3, 8)] == r["scale_free"]
        sf[n] = by["weight_scale_free_init"].mean()
    assert sf[32] < sf[64] < sf[128], sf


def test_ratio_to_init():
    assert ratio_to_init(3.0, 2.0) == 1.5
    out = ratio_to_init(np.array([[0.0, 2.0], [2.0, 0.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]))
    np.testing.assert_array_equal(out, [[np.nan, 2.0], [2.0, np.nan]])  # 0 / 0 on the diagonal: NaN
    assert np.isnan(ratio_to_init(1.0, 0.0)) and np.isnan(ratio_to_init(np.nan, 1.0))


def test_ratio_is_flat_across_widths_where_raw_scale_free_is_not():
    """Real aligned search (the stage's default settings), three networks per width."""
    seeds = [0, 1, 2]
    sf0, ratios = {}, {0.1: {}, 0.3: {}}
    for n in (32, 64, 128):
        W0 = _init(n, seeds)
        d0 = pairwise_weight_distances(W0, n_jobs=1, labels=seeds)
        sf0[n] = _upper(d0["scale_free"]).mean()
        assert (_upper(ratio_to_init(d0["aligned"], d0["aligned"])) == 1.0).all()  # trained = initial
        for r in ratios:
            dT = pairwise_weight_distances(_perturbed(W0, r, n), n_jobs=1, labels=seeds)
            per_pair = _upper(ratio_to_init(dT["aligned"], d0["aligned"]))
            assert np.all(np.abs(per_pair - np.sqrt(1 + r * r)) < 0.03), (r, n, per_pair)
            ratios[r][n] = per_pair.mean()
    print("scale_free_init", sf0, "ratio_init", ratios)
    for r, by_n in ratios.items():
        assert max(by_n.values()) / min(by_n.values()) < FLAT, (r, by_n)
    # the raw scale-free distance of untrained pairs is not flat: ~1.13 at n = 32, ~1.25 at 128
    assert sf0[32] == pytest.approx(1.13, abs=0.04) and sf0[128] == pytest.approx(1.25, abs=0.04), sf0
    assert sf0[32] < sf0[64] < sf0[128]
    assert sf0[128] / sf0[32] > 1.08 > FLAT, sf0


def test_ratio_is_flat_up_to_512_with_the_cheap_search():
    """FAQ from the barycenter + 2-opt (no restarts, no tabu), n = 32 to 512."""
    r = 0.3
    sf0, ratio = {}, {}
    for n, seeds in ((32, [0, 1, 2]), (128, [0, 1, 2]), (512, [0, 1])):
        W0 = _init(n, seeds)
        d0 = pairwise_weight_distances(W0, n_jobs=1, labels=seeds, **CHEAP)
        dT = pairwise_weight_distances(_perturbed(W0, r, n), n_jobs=1, labels=seeds, **CHEAP)
        sf0[n] = _upper(d0["scale_free"]).mean()
        ratio[n] = _upper(ratio_to_init(dT["aligned"], d0["aligned"])).mean()
    print("scale_free_init", sf0, "ratio_init", ratio)
    assert max(ratio.values()) / min(ratio.values()) < FLAT, ratio
    assert sf0[32] < sf0[128] < sf0[512] and sf0[512] / sf0[32] > 1.08, sf0


def test_summary_carries_the_baseline_means_and_intervals():
    """aggregate.summarise: per-condition mean and network-bootstrap interval of both metrics."""
    from degeneracy.aggregate import SUMMARY_COLUMNS, summarise

    meta = pd.DataFrame([dict(experiment="width", factor="n_units", task="flipflop", level=32.0, condition="w")])
    nets = pd.DataFrame(
        [dict(condition="w", seed=s, status="converged", converged=True, ood_mse=1.0, n_units=32) for s in range(3)]
    )
    pairs = []
    for (a, b), v in {(0, 1): 1.0, (0, 2): 2.0, (1, 2): 3.0}.items():
        pairs.append(dict(condition="w", seed_a=a, seed_b=b, metric="weight_scale_free_init", value=1.1 + v / 100))
        pairs.append(dict(condition="w", seed_a=a, seed_b=b, metric="weight_ratio_init", value=v / 10))
    s = summarise(meta, nets, pd.DataFrame(pairs), n_boot=200, seed=0)
    assert list(s.columns) == SUMMARY_COLUMNS
    r = s.iloc[0]
    assert r.weight_scale_free_init_mean == pytest.approx(1.12)
    assert r.weight_scale_free_init_lo <= 1.12 <= r.weight_scale_free_init_hi
    assert r.weight_ratio_init_mean == pytest.approx(0.2)
    assert 0.1 <= r.weight_ratio_init_lo <= 0.2 <= r.weight_ratio_init_hi <= 0.3
