"""Synthetic study tables with a planted effect of known size, for calibrating the verdicts.

Each network is a point in a small latent space: network ``s`` at level ``L`` sits at
``scale_L * (sqrt(pairing) * z_s + sqrt(1 - pairing) * e_{s,L})`` with z, e standard normal, so
the seed's own draw ``z_s`` (its initial network) is shared by every level (the paired design).
Distances between networks are Euclidean distances in that space, behavior is the first coordinate
plus a constant; the within-network DSA null is a small fraction of the level's scale. Degeneracy at
a level is then proportional to ``scale_L``: the planted ratio highest / lowest is ``effect``
(levels geometrically spaced between 1 and ``effect``). ``effect = 1`` is the null of no trend.

With ``extras=True`` the tables also carry what the other cells of the effects table read:
SVCCA pairs (a fourth latent space, measure "representations") and per-network means
(``weight_change_rel``, ``kernel_alignment``, ``ood_mse`` and, for the factors in
``fixed_point_factors``, ``n_line_attractor_like``), each network's value being
``base * mean_ratio ** frac_L * exp(0.3 * (sqrt(pairing) z_s + sqrt(1 - pairing) e_{s,L}) - 0.045)``,
so the planted ratio of the level means highest / lowest is ``mean_effects[column]``.

Probe noise (``probe_noise`` > 0, with ``extras``): the quantities that depend on the probe batch
carry an error shared by every network of a condition (they all see the same probe), which a
bootstrap over networks cannot see: SVCCA distances are multiplied by ``1 + probe_noise * u_c``
and the second probe's (``svcca_probe2``) by ``1 + probe_noise * u'_c``; kernel alignments
(uncentred and centred) get ``+ probe_noise * u_c`` and a per-network ``*_probe_sd`` of
``probe_noise``; the DSA distances are multiplied by ``1 + probe_noise * u_c`` too (their null
is the probe-to-probe floor); u, u' standard normal per condition.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["MEAN_BASE", "synthetic_study"]

#: Per-network columns planted with ``extras=True`` and their mean at the lowest level.
MEAN_BASE: dict[str, float] = {
    "weight_change_rel": 0.5,
    "kernel_alignment": 0.6,
    "kernel_alignment_centred": 0.4,
    "ood_mse": 1.0,
    "n_line_attractor_like": 3.0,
}


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
    extras: bool = False,
    mean_effects: dict[str, float] | None = None,
    fixed_point_factors: Sequence[str] = ("auxiliary",),
    probe_noise: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(meta, networks, pairwise) tables for ``experiments`` [(experiment, factor, task)].

    ``effects`` maps a measure ("behavior", "dynamics", "weights") to its planted ratio of
    degeneracy highest / lowest level (default 1: no effect). Every network converged; the
    pairwise table has dsa, dsa_null, weight_aligned, weight_aligned_init and weight_gap rows.
    With ``extras``: also svcca rows (``effects["representations"]``) and the per-network columns
    of :data:`MEAN_BASE` whose level means have the planted ratio ``mean_effects[column]``
    (default 1); ``ood_mse`` is then ``mean_L * (1 + 0.2 * x)`` with x the behavior coordinate,
    so its SD ratio is ``effects["behavior"] * mean_effects["ood_mse"]``.
    """
    effects = {"behavior": 1.0, "dynamics": 1.0, "weights": 1.0, "representations": 1.0, **(effects or {})}
    mean_effects = {k: 1.0 for k in MEAN_BASE} | dict(mean_effects or {})
    spaces = ("behavior", "dynamics", "weights") + (("representations",) if extras else ())
    levels = [float(x) for x in levels]
    n_lv = len(levels)
    frac = np.linspace(0.0, 1.0, n_lv) if n_lv > 1 else np.zeros(1)
    iu = np.triu_indices(n_seeds, k=1)
    meta, nets, pairs = [], [], []
    for experiment, factor, task in experiments:
        z = {m: rng.standard_normal((n_seeds, dim)) for m in spaces}
        zm = {c: rng.standard_normal(n_seeds) for c in MEAN_BASE} if extras else {}
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
            u1, u2 = (probe_noise * rng.standard_normal(2)) if probe_noise > 0 else (0.0, 0.0)
            cols: dict[str, np.ndarray] = {}
            if extras:
                for c, base in MEAN_BASE.items():
                    if c == "n_line_attractor_like" and factor not in fixed_point_factors:
                        continue
                    noise = np.sqrt(pairing) * zm[c] + np.sqrt(1.0 - pairing) * rng.standard_normal(n_seeds)
                    cols[c] = base * mean_effects[c] ** frac[i] * np.exp(0.3 * noise - 0.045)
                ood = cols.pop("ood_mse") * (1.0 + 0.2 * pos["behavior"][:, 0])
                for c in ("kernel_alignment", "kernel_alignment_centred"):
                    cols[c] = cols[c] + u1
                    if probe_noise > 0:
                        cols[f"{c}_probe_sd"] = np.full(n_seeds, probe_noise)
            for s in range(n_seeds):
                extra = {c: float(v[s]) for c, v in cols.items()}
                nets.append(
                    dict(
                        condition=cond, seed=s, status="converged", converged=True, ood_mse=ood[s], n_units=64, **extra
                    )
                )
            dyn = np.linalg.norm(pos["dynamics"][:, None] - pos["dynamics"][None], axis=-1) * (1.0 + u1)
            wts = np.linalg.norm(pos["weights"][:, None] - pos["weights"][None], axis=-1)
            null_scale = null_fraction * effects["dynamics"] ** frac[i]
            for s in range(n_seeds):
                pairs.append((cond, s, s, "dsa_null", null_scale * (1.0 + 0.1 * rng.standard_normal())))
            for a, b in zip(*iu):
                pairs.append((cond, a, b, "dsa", dyn[a, b]))
                pairs.append((cond, a, b, "weight_aligned", wts[a, b]))
                pairs.append((cond, a, b, "weight_aligned_init", d_init[a, b]))
                pairs.append((cond, a, b, "weight_gap", gap * rng.uniform()))
            if extras:
                rep = np.linalg.norm(pos["representations"][:, None] - pos["representations"][None], axis=-1)
                for a, b in zip(*iu):
                    pairs.append((cond, a, b, "svcca", rep[a, b] * (1.0 + u1)))
                    if probe_noise > 0:
                        pairs.append((cond, a, b, "svcca_probe2", rep[a, b] * (1.0 + u2)))
    return (
        pd.DataFrame(meta),
        pd.DataFrame(nets),
        pd.DataFrame(pairs, columns=["condition", "seed_a", "seed_b", "metric", "value"]),
    )
