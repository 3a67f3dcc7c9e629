"""Degeneracy of a user's own networks at every level: the computation behind ``measure``.

:func:`measure` loads and checks every input first (:mod:`.formats`), checks the settings
against the data, and only then fits DSA operators and computes the pairwise distances:

* dynamics -- DSA (:mod:`degeneracy.metrics.dsa`) between every pair of networks, all pairs in
  one batched optimisation; widths may differ (the operators are rank x rank);
* weights -- permutation-aligned Frobenius distance (:mod:`degeneracy.metrics.weights`),
  only between networks of equal width;
* representations -- SVCCA (:mod:`degeneracy.metrics.svcca`) of the activity, which needs the
  same number of probe samples (trials x time) for every network; widths may differ;
* behavior -- the spread (SD) of the networks' OOD loss, when every file gives one.

Groups (``group_by``) play the role of the study's conditions: the summary has one row per
group and, when the group labels are ordered (numbers, or an explicit ``levels`` order), the
effects table gives the Spearman trend of each level of degeneracy across groups.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .formats import MeasureInputError, Network, load_networks

__all__ = ["MeasureResult", "DISTANCE_COLUMNS", "METRICS", "measure"]

#: Distance-level metrics ``measure`` can compute.
METRICS = ("dsa", "weights", "svcca")

#: Columns of the all-pairs table (``distances.parquet``): every pair of networks, also across groups.
DISTANCE_COLUMNS = {
    "seed_a": "int64",
    "seed_b": "int64",
    "name_a": "string",
    "name_b": "string",
    "group_a": "string",
    "group_b": "string",
    "metric": "string",
    "value": "float64",
}

_WEIGHT_METRICS = ("weight_aligned", "weight_aligned_per_n2", "weight_unaligned")


@dataclass
class MeasureResult:
    """Tables of one ``measure`` run (all pandas DataFrames; see docs/measure.md).

    ``networks``: one row per network (the study's networks columns plus ``name``, ``path``,
    ``group``); ``pairwise``: within-group pairs in the study's long schema (condition = group)
    plus one ``dsa_null`` row per network; ``distances``: every pair (:data:`DISTANCE_COLUMNS`);
    ``summary``: one row per group; ``effects``: trend across ordered groups (None when the
    groups are not ordered or fewer than 2); ``matrices``: k x k arrays per metric (NaN where
    not computed); ``notes``: what was skipped and why; ``settings``: the settings used.
    """

    networks: pd.DataFrame
    pairwise: pd.DataFrame
    distances: pd.DataFrame
    summary: pd.DataFrame
    effects: pd.DataFrame | None
    matrices: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def _as_float(label: str) -> float | None:
    try:
        v = float(label)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _group_levels(groups: list[str], levels: Sequence[str] | None) -> tuple[list[str], dict[str, float] | None]:
    """Groups in display order and their numeric levels (None when the groups are unordered)."""
    uniq = list(dict.fromkeys(groups))
    if levels is not None:
        levels = [str(v) for v in levels]
        missing = [g for g in uniq if g not in levels]
        if missing:
            raise MeasureInputError(f"levels {levels} do not list the group(s) {missing}")
        order = [g for g in levels if g in uniq]
        return order, {g: float(i) for i, g in enumerate(order)}
    nums = {g: _as_float(g) for g in uniq}
    if all(v is not None for v in nums.values()):
        order = sorted(uniq, key=lambda g: nums[g])
        return order, {g: float(nums[g]) for g in order}
    return sorted(uniq), None


def _check_dsa(nets: list[Network], rank: int, n_delays: int, delay_interval: int) -> None:
    """Fail before any fitting when the DSA settings do not fit some network's data."""
    if min(rank, n_delays, delay_interval) < 1:
        raise MeasureInputError(
            f"DSA settings must be >= 1 (rank {rank}, n_delays {n_delays}, delay interval {delay_interval})"
        )
    for n in nets:
        K, T, N = n.trajectories.shape
        Tp = T - (n_delays - 1) * delay_interval
        if Tp < 2:
            raise MeasureInputError(
                f"{n.path}: {T} time steps are too few for --dsa-n-delays {n_delays} x --dsa-delay-interval "
                f"{delay_interval} (need at least {(n_delays - 1) * delay_interval + 2}); lower them"
            )
        if rank > N * n_delays:
            raise MeasureInputError(
                f"{n.path}: --dsa-rank {rank} exceeds n_delays x units = {n_delays} x {N} = {N * n_delays}; lower the rank"
            )
        if rank > K * Tp:
            raise MeasureInputError(
                f"{n.path}: --dsa-rank {rank} exceeds the {K * Tp} delay-embedded samples; lower the rank"
            )


def _networks_table(nets: list[Network], groups: list[str]) -> pd.DataFrame:
    from degeneracy.metrics.feature_learning import weight_change

    from ..pipeline.extract import NETWORK_COLUMNS

    rows = []
    for i, (n, g) in enumerate(zip(nets, groups)):
        wc = wc_rel = math.nan
        if n.W0 is not None:
            ch = weight_change(n.W0, n.W)
            wc, wc_rel = ch["abs"], ch["rel"]
        K, T, _ = n.trajectories.shape
        status = {True: "converged", False: "not converged", None: "external"}[n.converged]
        rows.append(
            {
                "condition": g,
                "seed": i,
                "status": status,
                "converged": pd.NA if n.converged is None else bool(n.converged),
                "epochs": -1,
                "steps": -1,
                "final_loss": math.nan,
                "ood_mse": n.ood_loss,
                "weight_change": wc,
                "weight_change_rel": wc_rel,
                "kernel_alignment": math.nan,
                "n_units": n.n_units,
                "name": n.name,
                "path": n.path,
                "group": g,
                "n_trials": K,
                "n_time": T,
            }
        )
    types = {
        **NETWORK_COLUMNS,
        "converged": "boolean",  # NA: convergence unknown (nothing in the file says)
        "name": "string",
        "path": "string",
        "group": "string",
        "n_trials": "int64",
        "n_time": "int64",
    }
    df = pd.DataFrame(rows)
    fill = {"int64": -1, "float64": math.nan, "bool": False, "boolean": pd.NA, "string": ""}
    for col, dtype in types.items():  # study columns with no meaning here (e.g. training stats)
        if col not in df.columns:
            df[col] = fill.get(dtype, math.nan)
    return df[list(types)].astype(types)


def _long_all(matrices: dict[str, np.ndarray], nets: list[Network], groups: list[str]) -> pd.DataFrame:
    k = len(nets)
    I, J = np.triu_indices(k, 1)
    frames = []
    for metric, D in matrices.items():
        v = D[I, J]
        ok = np.isfinite(v)
        frames.append(
            pd.DataFrame(
                {
                    "seed_a": I[ok],
                    "seed_b": J[ok],
                    "name_a": [nets[i].name for i in I[ok]],
                    "name_b": [nets[j].name for j in J[ok]],
                    "group_a": [groups[i] for i in I[ok]],
                    "group_b": [groups[j] for j in J[ok]],
                    "metric": metric,
                    "value": v[ok],
                }
            )
        )
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: [] for c in DISTANCE_COLUMNS})
    return df.astype(DISTANCE_COLUMNS)


def _pairwise_study(distances: pd.DataFrame, nulls: dict[int, float], groups: list[str]) -> pd.DataFrame:
    from ..pipeline.pairwise import PAIRWISE_COLUMNS

    within = distances[distances["group_a"] == distances["group_b"]]
    df = pd.DataFrame(
        {
            "condition": within["group_a"].to_numpy(),
            "seed_a": within["seed_a"].to_numpy(),
            "seed_b": within["seed_b"].to_numpy(),
            "metric": within["metric"].to_numpy(),
            "value": within["value"].to_numpy(),
        }
    )
    null = pd.DataFrame(
        {
            "condition": [groups[i] for i in nulls],
            "seed_a": list(nulls),
            "seed_b": list(nulls),
            "metric": "dsa_null",
            "value": list(nulls.values()),
        }
    )
    frames = [f for f in (df, null) if len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: [] for c in PAIRWISE_COLUMNS})
    return out.astype(PAIRWISE_COLUMNS).reset_index(drop=True)


def _meta(order: list[str], levels: dict[str, float] | None, factor: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "experiment": "measure",
            "factor": factor,
            "task": "external",
            "level": [levels[g] if levels else float(i) for i, g in enumerate(order)],
            "condition": order,
        }
    )


def _as_dsa(pairwise: pd.DataFrame) -> pd.DataFrame:
    """The SVCCA rows relabelled ``dsa`` (and nothing else), so the study's summary and effects
    code computes the same statistics for SVCCA as for DSA."""
    sv = pairwise[pairwise["metric"] == "svcca"].copy()
    sv["metric"] = "dsa"
    return sv


def _svcca_summary(summary: pd.DataFrame, meta, networks, pairwise, n_boot: int, seed: int) -> pd.DataFrame:
    """Add ``svcca_mean/lo/hi``: mean pairwise SVCCA per group with the same network-bootstrap
    interval the study gives DSA (unless the study's summary already has SVCCA columns)."""
    from degeneracy.aggregate import summarise

    summary = summary.copy()
    if "svcca_mean" in summary.columns:
        return summary
    if not (pairwise["metric"] == "svcca").any():
        summary["svcca_mean"] = summary["svcca_lo"] = summary["svcca_hi"] = math.nan
        return summary
    sv = summarise(meta, networks, _as_dsa(pairwise), n_boot=n_boot, seed=seed).set_index("condition")
    for c in ("mean", "lo", "hi"):
        summary[f"svcca_{c}"] = summary["condition"].map(sv[f"dsa_{c}"]).astype("float64")
    return summary


def _effects(meta, networks, pairwise, n_boot: int, seed: int, min_levels: int) -> pd.DataFrame:
    """The study's effects table over the ordered groups, plus a representations (SVCCA) row."""
    import inspect

    from degeneracy.stats import effects_table

    kw = dict(n_boot=n_boot, seed=seed, min_levels=min_levels)
    if "paired" in inspect.signature(effects_table).parameters:
        kw["paired"] = False  # different groups hold different networks: no pairing by seed
    eff = effects_table(meta, networks, pairwise, **kw)
    if not (eff["metric"] == "svcca").any() and (pairwise["metric"] == "svcca").any():
        sv = effects_table(meta, networks, _as_dsa(pairwise), **kw)
        sv = sv[sv["metric"] == "dsa"].copy()
        sv["level_of_degeneracy"], sv["metric"] = "representations", "svcca"
        if "measure" in sv.columns:
            sv["measure"] = "representations"
        if "above_noise_floor" in sv.columns:  # the DSA noise floor says nothing about SVCCA
            sv["above_noise_floor"] = pd.NA
        sv["reason"] = [
            "; ".join(p for p in str(r).split("; ") if "within-network null" not in p and "noise floor" not in p)
            for r in sv["reason"]
        ]
        eff = pd.concat([eff, sv], ignore_index=True)
    reason = eff["reason"].astype(str)
    eff["reason"] = reason.where(~reason.str.startswith("no paper direction"), "")
    return eff.reset_index(drop=True)


#: pairwise metrics that are baselines only (reported beside the distances, never a trend)
_BASELINE_ONLY = ("svcca_shuffled",)


def _check_settings(n_boot, weight_restarts, min_levels, threads, seed, dsa_ridge) -> None:
    """Fail at once on settings no run can use (before loading anything)."""

    def whole(x) -> bool:
        return not isinstance(x, bool) and isinstance(x, (int, np.integer)) or (isinstance(x, float) and x.is_integer())

    for name, value, low in (
        ("--n-boot", n_boot, 1),
        ("--weight-restarts", weight_restarts, 0),
        ("--min-levels", min_levels, 2),
        ("--threads", threads, 1),
        ("--seed", seed, 0),
    ):
        if not whole(value) or int(value) < low:
            raise MeasureInputError(f"{name} must be a whole number >= {low}, got {value!r}")
    if not (isinstance(dsa_ridge, (int, float)) and math.isfinite(float(dsa_ridge)) and float(dsa_ridge) >= 0):
        raise MeasureInputError(f"--dsa-ridge must be a finite number >= 0, got {dsa_ridge!r}")


def _groups(nets: list[Network], group_by: str, default_group: str | None, notes: list[str]) -> list[str]:
    """Each network's group label. No network with the key: one group ``all`` (with a note) when
    the key is the default ``group``, an error for a key the user named. Some without it: an
    error naming them, unless ``default_group`` is given."""
    missing = [n for n in nets if n.group is None]
    if missing and default_group is not None:
        label = str(default_group).strip()
        if not label or label.lower() == "nan":
            raise MeasureInputError(f"--default-group must be a real label, got {default_group!r}")
        notes.append(
            f"groups: {len(missing)} network(s) without a {group_by!r} key put in group {label!r} (--default-group)"
        )
        return [n.group if n.group is not None else label for n in nets]
    if missing and len(missing) == len(nets):
        if group_by != "group":
            raise MeasureInputError(
                f"no network has the group key {group_by!r} (--group-by); e.g. {missing[0].path} has none"
            )
        notes.append(
            f"groups: no network has a 'group' key, so all {len(nets)} form one group 'all' "
            "(give each file a 'group', or use --group-by)"
        )
        return ["all"] * len(nets)
    if missing:
        shown = ", ".join(n.path for n in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise MeasureInputError(
            f"{shown}: missing the group key {group_by!r} that the other networks have; add it, "
            "or pass --default-group LABEL"
        )
    return [str(n.group) for n in nets]


def _svcca_shuffled(nets: list[Network], groups: list[str], variance: float, seed: int) -> np.ndarray:
    """Baseline of SVCCA: the distance of each within-group pair after shuffling one network's
    samples (trials x time), i.e. of two representations with no sample-by-sample relation."""
    from degeneracy.metrics.svcca import svcca_distance

    k = len(nets)
    D = np.full((k, k), np.nan)
    np.fill_diagonal(D, 0.0)
    rng = np.random.default_rng(seed)
    for i in range(k):
        for j in range(i + 1, k):
            if groups[i] != groups[j]:
                continue
            a = nets[i].trajectories.reshape(-1, nets[i].n_units)
            b = nets[j].trajectories.reshape(-1, nets[j].n_units)
            D[i, j] = D[j, i] = svcca_distance(a, b[rng.permutation(b.shape[0])], variance=variance)
    return D


def _non_finite(matrices: dict[str, np.ndarray], nets: list[Network], nulls: dict[int, float]) -> list[str]:
    """Notes naming the networks whose distances came out NaN or inf (never dropped silently)."""
    out = []
    for m, D in matrices.items():
        if m.startswith("weight"):
            same = np.array([[a.n_units == b.n_units for b in nets] for a in nets])
        else:
            same = np.ones(D.shape, dtype=bool)
        if m == "svcca_shuffled":
            continue
        bad = same & ~np.isfinite(D)
        if bad.any():
            who = sorted({nets[i].path for i in np.argwhere(bad).ravel()})
            out.append(f"{m}: {int(bad.sum()) // 2} pair(s) gave no finite distance, involving {', '.join(who)}")
    for i, v in nulls.items():
        if not math.isfinite(v):
            out.append(f"dsa_null: {nets[i].path} gave no finite noise floor")
    return out


def _baseline_summary(summary, meta, networks, pairwise, n_boot: int, seed: int) -> pd.DataFrame:
    """Add ``svcca_shuffled_mean/lo/hi``: the SVCCA baseline per group (shuffled samples)."""
    from degeneracy.aggregate import summarise

    summary = summary.copy()
    sh = pairwise[pairwise["metric"] == "svcca_shuffled"].copy()
    if not len(sh):
        summary["svcca_shuffled_mean"] = summary["svcca_shuffled_lo"] = summary["svcca_shuffled_hi"] = math.nan
        return summary
    sh["metric"] = "dsa"
    b = summarise(meta, networks, sh, n_boot=n_boot, seed=seed).set_index("condition")
    for c in ("mean", "lo", "hi"):
        summary[f"svcca_shuffled_{c}"] = summary["condition"].map(b[f"dsa_{c}"]).astype("float64")
    return summary


def _unknown_convergence(summary: pd.DataFrame, networks: pd.DataFrame) -> pd.DataFrame:
    """Convergence rate NaN (unknown) for groups with networks whose convergence nothing records."""
    summary = summary.copy()
    unknown = networks[networks["converged"].isna()].groupby("condition").size()
    cols = [c for c in ("convergence_rate", "convergence_lo", "convergence_hi") if c in summary.columns]
    for i, cond in summary["condition"].items():
        n = int(unknown.get(cond, 0))
        if n:
            summary.loc[i, cols] = math.nan
            note = f"convergence unknown for {n} network(s) (external): all included"
            old = str(summary.loc[i, "note"]) if "note" in summary.columns and pd.notna(summary.loc[i, "note"]) else ""
            summary.loc[i, "note"] = f"{note}; {old}" if old else note
    return summary


def measure(
    networks: Sequence[Any] | str,
    *,
    group_by: str = "group",
    levels: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    fmt: str = "auto",
    weight_key: str | None = None,
    inputs: str | None = None,
    nonlinearity: str = "tanh",
    dsa_rank: int = 10,
    dsa_n_delays: int = 10,
    dsa_delay_interval: int = 1,
    dsa_ridge: float = 1e-8,
    dsa_mode: str = "euclidean",
    dsa_null: bool = True,
    weight_restarts: int = 8,
    svcca_variance: float = 0.99,
    n_boot: int = 1000,
    min_levels: int = 2,
    seed: int = 0,
    threads: int = 1,
    out: str | None = None,
    figures: bool = True,
    progress: Callable[[str], None] | None = None,
    default_group: str | None = None,
) -> MeasureResult:
    """Measure the degeneracy of a set of networks at every level available.

    ``networks``: files, folders or globs (``.npz`` arrays or PyTorch checkpoints, see
    :mod:`degeneracy.measure.formats`), in-memory dicts with the ``.npz`` keys, or a mix.
    ``group_by``: key of each network's group label (``folder``: the parent folder). When no
    network has the (default) ``group`` key, all form one group ``all`` (and a note says so);
    when only some have it, the others are an error unless ``default_group`` names their group. ``levels``: the order of string group labels (makes the
    groups an ordered factor); numeric labels are ordered by value. ``metrics``: subset of
    :data:`METRICS` (default: every one the data allows; asking for one it does not allow
    raises :class:`MeasureInputError`). ``dsa_*``: DSA settings as in the study config
    (``dsa_null``: one noise-floor row per network). ``weight_restarts``: FAQ restarts.
    ``svcca_variance``: fraction of variance kept before CCA. ``n_boot``, ``min_levels``,
    ``seed``: bootstrap of the summary and effects. ``out``: folder to write the tables,
    figures and ``report.md`` to (nothing written when None). ``progress``: called with one
    line per step.

    Returns a :class:`MeasureResult`. Every input problem raises :class:`MeasureInputError`
    before any heavy computation.
    """
    import torch

    say = progress or (lambda msg: None)
    t0 = time.time()
    torch.set_num_threads(max(1, int(threads)))
    chosen = list(METRICS) if metrics is None else [str(m) for m in metrics]
    unknown = [m for m in chosen if m not in METRICS]
    if unknown:
        raise MeasureInputError(f"unknown metric(s) {unknown}: expected some of {list(METRICS)}")
    if dsa_mode not in ("euclidean", "angular", "wasserstein"):
        raise MeasureInputError(f"unknown DSA mode {dsa_mode!r}: expected euclidean, angular or wasserstein")
    if not 0.0 < svcca_variance <= 1.0:
        raise MeasureInputError(f"svcca variance must be in (0, 1], got {svcca_variance}")
    _check_settings(n_boot, weight_restarts, min_levels, threads, seed, dsa_ridge)
    out_dir = None
    if out is not None:
        from .report import check_out

        out_dir = check_out(out)  # before loading: an unusable --out fails at once

    nets = load_networks(networks, fmt, weight_key, inputs, nonlinearity, group_by)
    k = len(nets)
    notes: list[str] = []
    groups = _groups(nets, group_by, default_group, notes)
    order, lv = _group_levels(groups, levels)
    say(f"loaded {k} networks in {len(order)} group(s): " + ", ".join(f"{g} ({groups.count(g)})" for g in order))

    # --- what can be computed, decided before any heavy work ---------------------------------
    explicit = metrics is not None
    todo: list[str] = []
    if "dsa" in chosen:
        _check_dsa(nets, int(dsa_rank), int(dsa_n_delays), int(dsa_delay_interval))
        todo.append("dsa")
    if "weights" in chosen:
        bad = []
        for g in order:
            widths = {nets[i].name: nets[i].n_units for i in range(k) if groups[i] == g}
            if len(set(widths.values())) > 1:
                bad.append(f"group {g!r}: " + ", ".join(f"{n} ({w} units)" for n, w in widths.items()))
        msg = "weights: networks of different widths cannot be compared by a permutation of units; " + "; ".join(bad)
        if bad and explicit:
            raise MeasureInputError(msg)
        if bad:
            notes.append(msg + " -- weight distances skipped")
        else:
            todo.append("weights")
            if len({n.n_units for n in nets}) > 1:
                notes.append("weights: pairs of networks of different widths (across groups) have no weight distance")
    if "svcca" in chosen:
        shapes = {n.name: n.trajectories.shape[:2] for n in nets}
        if len(set(shapes.values())) > 1:
            same = len({a * b for a, b in shapes.values()}) == 1
            msg = (
                "svcca: compares activity sample by sample on the same probe trials, but the trials x time shapes "
                + ("differ (the sample counts agree, so the samples would be misaligned): " if same else "differ: ")
                + ", ".join(f"{n} ({a} x {b})" for n, (a, b) in shapes.items())
            )
            if explicit:
                raise MeasureInputError(msg)
            notes.append(msg + " -- SVCCA skipped")
        else:
            todo.append("svcca")
    has_ood = [math.isfinite(n.ood_loss) for n in nets]
    if not all(has_ood):
        notes.append(f"behavior: {k - sum(has_ood)} of {k} networks give no ood_loss; behavior SD uses the rest")
    small = [g for g in order if groups.count(g) < 3]
    if small:
        notes.append(
            f"groups with fewer than 3 networks ({', '.join(small)}): a bootstrap over 2 networks can only redraw "
            "their single pair, so their intervals collapse to the point value"
        )
    for n in notes:
        say("note: " + n)

    # --- heavy work -----------------------------------------------------------------------------
    nanmat = np.full((k, k), np.nan)
    np.fill_diagonal(nanmat, 0.0)
    matrices: dict[str, np.ndarray] = {}
    nulls: dict[int, float] = {}
    if "dsa" in todo:
        from degeneracy.metrics import dsa as dsa_mod

        kw = dict(
            n_delays=int(dsa_n_delays),
            delay_interval=int(dsa_delay_interval),
            rank=int(dsa_rank),
            ridge=float(dsa_ridge),
        )
        fits = []
        for i, n in enumerate(nets):
            fits.append(dsa_mod.fit_operator(n.trajectories, **kw))
            say(f"dsa: operator {i + 1}/{k} ({n.name}, explained variance {fits[-1].explained_variance:.3f})")
        t = time.time()
        matrices["dsa"] = dsa_mod.pairwise_distances(fits, mode=dsa_mode, seed=int(seed))
        say(f"dsa: {k * (k - 1) // 2} pairs in {time.time() - t:.1f} s")
        if dsa_null:
            for i, n in enumerate(nets):
                K, T, _ = n.trajectories.shape
                Tp = T - (int(dsa_n_delays) - 1) * int(dsa_delay_interval)
                if K < 2 or (K // 2) * Tp < int(dsa_rank):
                    notes.append(f"dsa_null: {n.name} has too few trials ({K}) to split into two halves; no null")
                    continue
                nulls[i] = float(dsa_mod.dsa_null_split_half(n.trajectories, seed=int(seed) + i, mode=dsa_mode, **kw))
            say(f"dsa: noise floor of {len(nulls)} networks (two halves of the trials)")
    if "weights" in todo:
        from degeneracy.metrics.weights import pairwise_weight_distances

        for m in _WEIGHT_METRICS:
            matrices[m] = nanmat.copy()
        t = time.time()
        for w in sorted({n.n_units for n in nets}):
            idx = [i for i in range(k) if nets[i].n_units == w]
            if len(idx) < 2:
                continue
            res = pairwise_weight_distances(
                [nets[i].W for i in idx], n_restarts=int(weight_restarts), seed=int(seed), n_jobs=max(1, int(threads))
            )
            for key, m in zip(("aligned", "aligned_per_n2", "unaligned"), _WEIGHT_METRICS):
                matrices[m][np.ix_(idx, idx)] = res[key]
            if all(nets[i].W0 is not None for i in idx):  # baseline: the initial matrices' distance
                init = pairwise_weight_distances(
                    [nets[i].W0 for i in idx],
                    n_restarts=int(weight_restarts),
                    seed=int(seed),
                    n_jobs=max(1, int(threads)),
                )
                matrices.setdefault("weight_aligned_init", nanmat.copy())[np.ix_(idx, idx)] = init["aligned"]
        say(f"weights: permutation-aligned distances in {time.time() - t:.1f} s")
    if "svcca" in todo:
        from degeneracy.metrics.svcca import pairwise_svcca

        t = time.time()
        matrices["svcca"] = pairwise_svcca([n.trajectories for n in nets], variance=float(svcca_variance))
        matrices["svcca_shuffled"] = _svcca_shuffled(nets, groups, float(svcca_variance), int(seed))
        say(f"svcca: {k * (k - 1) // 2} pairs in {time.time() - t:.1f} s")
    notes += _non_finite(matrices, nets, nulls)

    # --- tables ---------------------------------------------------------------------------------
    from degeneracy.aggregate import summarise

    net_df = _networks_table(nets, groups)
    # networks whose convergence nothing records are included (external networks): the
    # statistics see them as converged, the summary says the rate is unknown
    included = net_df.assign(converged=net_df["converged"].fillna(True).astype(bool))
    distances = _long_all(matrices, nets, groups)
    pairwise_all = _pairwise_study(distances, nulls, groups)
    baseline = pairwise_all["metric"].isin(_BASELINE_ONLY)
    pairwise = pairwise_all[~baseline].reset_index(drop=True)
    factor = group_by if group_by else "group"
    meta = _meta(order, lv, factor)
    summary = summarise(meta, included, pairwise, n_boot=int(n_boot), seed=int(seed))
    summary = _svcca_summary(summary, meta, included, pairwise, int(n_boot), int(seed))
    summary = _baseline_summary(summary, meta, included, pairwise_all, int(n_boot), int(seed))
    summary = _unknown_convergence(summary, net_df)
    pairwise = pairwise_all
    effects = None
    if lv is not None and len(order) >= 2:
        effects = _effects(meta, included, pairwise[~baseline], int(n_boot), int(seed), int(min_levels))
        say(f"effects: trend across {len(order)} ordered groups")
    elif len(order) >= 2:
        notes.append(
            "effects: group labels are not numbers; give their order (--levels a,b,c) for a trend across groups"
        )
    settings = {
        "group_by": group_by,
        "levels": order,
        "ordered": lv is not None,
        "metrics": todo,
        "dsa": {
            "rank": int(dsa_rank),
            "n_delays": int(dsa_n_delays),
            "delay_interval": int(dsa_delay_interval),
            "ridge": float(dsa_ridge),
            "mode": dsa_mode,
            "null": bool(dsa_null),
        },
        "weights": {"n_restarts": int(weight_restarts)},
        "svcca": {"variance": float(svcca_variance)},
        "aggregate": {"n_boot": int(n_boot), "seed": int(seed), "min_levels": int(min_levels)},
    }
    full = {m: matrices[m] for m in matrices}
    result = MeasureResult(net_df, pairwise, distances, summary, effects, full, notes, settings)
    if out_dir is not None:
        from .report import write_outputs

        written = write_outputs(result, out_dir, figures=figures)
        say(f"wrote {len(written)} files to {out_dir} in {time.time() - t0:.1f} s")
    return result
