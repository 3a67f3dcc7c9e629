"""Pairing: the same seed starts every level of a factor from the same network, so resampling seeds
jointly across the conditions keeps their correlation and narrows the interval of the ratio between
levels. Checked on synthetic paired tables where each network is mostly its seed's own draw."""

from __future__ import annotations

import numpy as np
import pytest

from degeneracy.stats import effects_table
from degeneracy.stats.synthetic import synthetic_study

EXP = (("complexity", "channels", "flipflop"),)
PRIMARY = ("behavior", "dynamics", "weights")


def _widths(pairing: float, paired: bool, n_studies: int = 8) -> dict[str, float]:
    """Median width of log(ratio) intervals per measure over a few synthetic studies."""
    out: dict[str, list[float]] = {}
    for i in range(n_studies):
        meta, nets, pairs = synthetic_study(
            np.random.default_rng(i),
            n_seeds=8,
            effects={"behavior": 1.5, "dynamics": 1.5, "weights": 1.5},
            experiments=EXP,
            pairing=pairing,
        )
        df = effects_table(meta, nets, pairs, n_boot=600, seed=i, paired=paired)
        for r in df.itertuples():
            if r.measure in PRIMARY:  # the secondary rows include differences, whose ratio bounds may be 0
                out.setdefault(r.measure, []).append(np.log(r.ratio_hi) - np.log(r.ratio_lo))
    return {m: float(np.median(v)) for m, v in out.items()}


def test_pairing_narrows_the_ratio_interval():
    paired = _widths(0.95, True)
    unpaired = _widths(0.95, False)
    for measure in PRIMARY:
        assert paired[measure] < 0.7 * unpaired[measure], (measure, paired, unpaired)


def test_without_a_seed_effect_pairing_changes_little():
    paired = _widths(0.0, True)
    unpaired = _widths(0.0, False)
    for measure in ("dynamics", "weights"):
        assert paired[measure] == pytest.approx(unpaired[measure], rel=0.3), (measure, paired, unpaired)


def test_unpaired_draws_are_independent_per_condition():
    # same data, same seed: only the pairing differs, so the point estimates agree exactly
    meta, nets, pairs = synthetic_study(np.random.default_rng(0), n_seeds=6, experiments=EXP)
    a = effects_table(meta, nets, pairs, n_boot=200, seed=0, paired=True)
    b = effects_table(meta, nets, pairs, n_boot=200, seed=0, paired=False)
    np.testing.assert_allclose(a["ratio"], b["ratio"])
    np.testing.assert_allclose(a["rho"], b["rho"])
    assert not np.allclose(a["ratio_lo"], b["ratio_lo"])
