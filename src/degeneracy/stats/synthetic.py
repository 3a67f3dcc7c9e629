"""Synthetic study tables with a planted effect of known size, for calibrating the verdicts.

Each network is a point in a small latent space: network ``s`` at level ``L`` sits at
``scale_L * (sqrt(pairing) * z_s + sqrt(1 - pairing) * e_{s,L})`` with z, e standard normal, so
the seed's own draw ``z_s`` (its initial network) is shared by every level (the paired design).
Distances between networks are Euclidean distances in that space, behavior is the first coordinate
plus a constant; the within-network DSA null is a small fraction of the level's scale. Degeneracy at
a level is then proportional to ``scale_L``: the planted ratio highest / lowest is ``effect``
(levels geometrically spaced between 1 and ``effect``). ``effect = 1`` is the null of no trend.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["synthetic_study"]


def synthetic_study(
    rng: np.random.Generator,
    n_seeds: int = 6,
    levels: Sequence[float] = (1.0, 2.0, 3.0),
    effects: dict[str, float] | None = None,
    experiments: Sequence[tuple[str, str, str]] = (("complexity", "channels", "flipflop"),),
    pairing: float = 0.8,
    dim: int = 4,
    null_fraction: float = 0.1,
    gap: float = 0.001,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(meta, networks, pairwise) tables for ``experiments`` [(experiment, factor, task)].

    ``effects`` maps a measure ("behavior", "dynamics", "weights") to its planted ratio of
    degeneracy highest / lowest level (default 1: no effect). Every network converged; the
    pairwise table has dsa, dsa_null, weight_aligned, weight_aligned_init and weight_gap rows.
    """
    effects = {"behavior": 1.0, "dynamics": 1.0, "weights": 1.0, **(effects or {})}
    levels = [float(x) for x in levels]
    n_lv = len(levels)
    frac = np.linspace(0.0, 1.0, n_lv) if n_lv > 1 else np.zeros(1)
    iu = np.triu_indices(n_seeds, k=1)
    meta, nets, pairs = [], [], []
    for experiment, factor, task in experiments:
        z = {m: rng.standard_normal((n_seeds, dim)) for m in ("behavior", "dynamics", "weights")}
        w_init = rng.standard_normal((n_seeds, dim))
        d_init = np.linalg.norm(w_init[:, None] - w_init[None], axis=-1)
        for i, lv in enumerate(levels):
            cond = f"{experiment}-{task}-{i}"
            meta.append(dict(experiment=experiment, factor=factor, task=task, level=lv, condition=cond))
            pos = {}
            for m in z:
                scale = effects[m] ** frac[i]
                e = rng.standard_normal((n_seeds, dim))
                pos[m] = scale * (np.sqrt(pairing) * z[m] + np.sqrt(1.0 - pairing) * e)
            ood = 1.0 + pos["behavior"][:, 0]
            for s in range(n_seeds):
                nets.append(dict(condition=cond, seed=s, status="converged", converged=True, ood_mse=ood[s], n_units=64))
            dyn = np.linalg.norm(pos["dynamics"][:, None] - pos["dynamics"][None], axis=-1)
            wts = np.linalg.norm(pos["weights"][:, None] - pos["weights"][None], axis=-1)
            null_scale = null_fraction * effects["dynamics"] ** frac[i]
            for s in range(n_seeds):
                pairs.append((cond, s, s, "dsa_null", null_scale * (1.0 + 0.1 * rng.standard_normal())))
            for a, b in zip(*iu):
                pairs.append((cond, a, b, "dsa", dyn[a, b]))
                pairs.append((cond, a, b, "weight_aligned", wts[a, b]))
                pairs.append((cond, a, b, "weight_aligned_init", d_init[a, b]))
                pairs.append((cond, a, b, "weight_gap", gap * rng.uniform()))
    return (
        pd.DataFrame(meta),
        pd.DataFrame(nets),
        pd.DataFrame(pairs, columns=["condition", "seed_a", "seed_b", "metric", "value"]),
    )
