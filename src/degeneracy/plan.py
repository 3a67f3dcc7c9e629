"""Pilot a study config before spending core-hours on it, and project what the full study costs.

``python -m degeneracy plan CONFIG [--pilot-seeds 2] [--budget-scale 1.0] [--cores N]`` runs the
workflow on CONFIG with a few seeds per condition (a separate pilot study, ``<study>-pilot``), then
reads the pilot's ``networks.parquet``, ``pairwise.parquet`` and benchmark TSVs and reports, per
condition, the convergence rate, steps and seconds per network and the DSA noise floor against the
between-network distance, and projects the full config's cost (networks, pairs, core-hours per
stage, wall time at ``--cores N`` and on the SLURM profile). A condition where no pilot network
converged, or where the DSA null is at or above the between-network distance (DSA cannot tell
its networks apart), is flagged; the command then exits 1. See docs/plan.md.

The benchmark-TSV reader (:func:`read_benchmarks`, :func:`stage_table`) is shared with
``benchmarks/stage_times.py`` (wall time per stage of a finished study).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import pandas as pd

#: stages in pipeline order; every benchmark TSV belongs to one (see :func:`stage_of`)
STAGES = ("train", "extract", "dsa_fit", "pairwise_dsa", "pairwise_weights", "aggregation", "figures")

#: Measured costs behind the defaults and the pilot-free projection (``plan --no-pilot``): one
#: table for the workflow's job sizes and this module (degeneracy.costs.MEASURED)
from . import costs  # noqa: E402

#: the pilot's targets (relative to the study root): no summaries, effects or figures
PILOT_TARGETS = ("meta.parquet", "networks.parquet", "pairwise.parquet")


# --------------------------------------------------------------------------- benchmark TSVs


def stage_of(rel: Path) -> tuple[str, str, str | None, int | None]:
    """(rule, stage, condition, seed) of a benchmark TSV given by its path relative to
    ``<root>/benchmarks``: ``train/<c>/seed<s>.tsv``, ``extract/...``, ``dsa_fit/<c>.tsv``,
    ``pairwise/<c>/<metric>.tsv`` (rule ``pairwise_<metric>``), ``aggregate/*.tsv`` (stage
    ``aggregation``), ``figures/*.tsv`` and ``example_trial/...`` (stage ``figures``: that job
    exists only for its figure). Other folders are their own stage."""
    parts = rel.parts
    top = parts[0]
    condition = seed = None
    if len(parts) == 3 and parts[2].startswith("seed"):
        condition, seed = parts[1], int(re.sub(r"\D", "", parts[2]) or -1)
    if top == "pairwise":
        if len(parts) == 4:  # a chunk: pairwise/<c>/<metric>/<chunk>.tsv
            rule = f"pairwise_{parts[2]}"
            return rule, rule, parts[1], None
        rule = f"pairwise_{Path(parts[-1]).stem}"
        return rule, rule, parts[1] if len(parts) == 3 else None, None
    if top == "gather":  # gather/<c>/<metric>.tsv: the chunks joined into the condition's table
        return f"pairwise_{Path(parts[-1]).stem}_gather", "aggregation", parts[1] if len(parts) == 3 else None, None
    if top == "dsa_fit":
        return "dsa_fit", "dsa_fit", Path(parts[-1]).stem, None
    if top == "dsa_grid":  # dsa_grid/<c>/<block>.tsv (a fit block) or dsa_grid/<c>.tsv (its pairs)
        if len(parts) == 3:
            return "dsa_grid_fit", "dsa_grid", parts[1], None
        return "dsa_grid", "dsa_grid", Path(parts[-1]).stem, None
    if top == "aggregate":
        return Path(parts[-1]).stem, "aggregation", None, None
    if top == "figures":
        return "figure", "figures", None, None
    if top == "example_trial":
        return "example_trial", "figures", condition, seed
    return top, top, condition, seed


def read_benchmarks(root: str | Path) -> pd.DataFrame:
    """Every benchmark TSV under ``<root>/benchmarks`` (Snakemake's ``benchmark:`` files), one row
    per job: ``path`` (relative), ``rule``, ``stage``, ``condition``, ``seed`` (None where not
    per network), ``s`` (wall seconds; the mean of the file's rows when it holds repeats) and
    ``cpu_time`` (CPU seconds as Snakemake sampled them, NaN when absent; unreliable for jobs of
    a few seconds). Empty table when there is no benchmark folder."""
    import pandas as pd

    base = Path(root) / "benchmarks"
    rows = []
    for path in sorted(base.rglob("*.tsv")) if base.is_dir() else []:
        try:
            tsv = pd.read_csv(path, sep="\t")
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            continue
        if "s" not in tsv.columns or tsv.empty:
            continue
        rel = path.relative_to(base)
        rule, stage, condition, seed = stage_of(rel)
        cpu = pd.to_numeric(tsv.get("cpu_time", pd.Series([math.nan])), errors="coerce").mean()
        rows.append(
            {
                "path": str(rel),
                "rule": rule,
                "stage": stage,
                "condition": condition,
                "seed": seed,
                "s": float(pd.to_numeric(tsv["s"], errors="coerce").mean()),
                "cpu_time": float(cpu),
            }
        )
    cols = ["path", "rule", "stage", "condition", "seed", "s", "cpu_time"]
    return pd.DataFrame(rows, columns=cols)


def stage_table(bench: pd.DataFrame) -> pd.DataFrame:
    """Wall time per stage from :func:`read_benchmarks`: one row per stage (pipeline order, then
    any other stage) with ``jobs``, ``total_s``, ``mean_s``, ``max_s`` (seconds) and ``share``
    (fraction of the summed wall seconds of all jobs), plus a ``total`` row."""
    import pandas as pd

    order = list(STAGES) + sorted(set(bench["stage"]) - set(STAGES))
    rows = []
    for stage in order:
        s = bench.loc[bench["stage"] == stage, "s"]
        if len(s):
            rows.append({"stage": stage, "jobs": len(s), "total_s": s.sum(), "mean_s": s.mean(), "max_s": s.max()})
    out = pd.DataFrame(rows, columns=["stage", "jobs", "total_s", "mean_s", "max_s"])
    total = out["total_s"].sum()
    out["share"] = out["total_s"] / total if total > 0 else math.nan
    tot = {
        "stage": "total",
        "jobs": out["jobs"].sum(),
        "total_s": total,
        "mean_s": total / max(out["jobs"].sum(), 1),
        "max_s": out["max_s"].max(),
        "share": 1.0,
    }
    return pd.concat([out, pd.DataFrame([tot])], ignore_index=True)


def stage_markdown(table: pd.DataFrame) -> str:
    """:func:`stage_table` as a Markdown table (seconds, and the total also in core-hours)."""
    lines = ["| stage | jobs | total s | mean s | longest s | share |", "|---|---:|---:|---:|---:|---:|"]
    for r in table.itertuples():
        lines.append(
            f"| {r.stage} | {r.jobs} | {r.total_s:.1f} | {r.mean_s:.1f} | {r.max_s:.1f} | {100 * r.share:.1f}% |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- the pilot run


def load_config(path: str | Path) -> dict:
    """The YAML config at ``path`` (a mapping)."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise SystemExit(f"error: {path} is not a YAML mapping")
    return data


def _scaled(epochs: Any, scale: float) -> int:
    return max(1, round(int(epochs) * scale))


def pilot_overlay(
    config: Mapping,
    pilot_seeds: int,
    budget_scale: float = 1.0,
    suffix: str = "pilot",
    only: Sequence[str] | None = None,
    extremes: bool = False,
    tasks: Sequence[str] | None = None,
) -> dict:
    """Overlay config for the pilot of ``config``: ``study: <study>-<suffix>``, ``seeds``, the
    optional ``only`` experiments and, when ``budget_scale`` < 1, every ``max_epochs`` the config
    sets (global ``training``, ``tasks.<t>.training``, ``experiments.<e>.settings.training``;
    the library default when the global one is absent) times ``budget_scale``, at least 1.
    ``extremes``: each experiment (per task) keeps only its first and last level, where a
    setting is most likely to fail (the largest gamma, the widest network, the longest delay).
    ``tasks``: each kept experiment trains only these of its tasks; experiments with none of them
    are dropped (through ``only``) and the study is named ``<study>-<suffix>+tasks=<t1>_<t2>``.
    Raises ValueError when no kept experiment has any of ``tasks``."""
    from .conditions import GLOBAL_DEFAULTS
    from .config import TRAINING_DEFAULTS

    overlay: dict[str, Any] = {
        "study": f"{config.get('study', GLOBAL_DEFAULTS['study'])}-{suffix}",
        "seeds": int(pilot_seeds),
    }
    if only:
        overlay["only"] = list(only)
    if tasks:
        narrowed = _narrow_tasks(config, only, tasks)
        overlay["study"] += "+tasks=" + "_".join(tasks)
        overlay["only"] = list(narrowed)
        for exp, kept in narrowed.items():
            overlay.setdefault("experiments", {})[exp] = {"tasks": kept}
    if budget_scale < 1.0:
        base = (config.get("training") or {}).get("max_epochs", TRAINING_DEFAULTS["max_epochs"])
        overlay["training"] = {"max_epochs": _scaled(base, budget_scale)}
        for task, spec in (config.get("tasks") or {}).items():
            epochs = ((spec or {}).get("training") or {}).get("max_epochs") if isinstance(spec, Mapping) else None
            if epochs is not None:
                overlay.setdefault("tasks", {})[task] = {"training": {"max_epochs": _scaled(epochs, budget_scale)}}
        for exp, spec in (config.get("experiments") or {}).items():
            epochs = (((spec or {}).get("settings") or {}).get("training") or {}).get("max_epochs")
            if epochs is not None:
                overlay.setdefault("experiments", {})[exp] = {
                    "settings": {"training": {"max_epochs": _scaled(epochs, budget_scale)}}
                }
    if extremes:
        for exp, spec in _kept_experiments(config, overlay.get("only")):
            levels = spec.get("levels")
            if isinstance(levels, Mapping):
                ends = {t: [lv[0], lv[-1]] if len(lv) > 2 else list(lv) for t, lv in levels.items()}
            elif isinstance(levels, list):
                ends = [levels[0], levels[-1]] if len(levels) > 2 else list(levels)
            else:
                continue
            overlay.setdefault("experiments", {}).setdefault(exp, {})["levels"] = ends
    return overlay


def _kept_experiments(config: Mapping, only: Sequence[str] | None) -> list[tuple[str, Mapping]]:
    """(name, spec) of the config's experiments that ``only`` keeps (all when None), in order."""
    experiments = (config.get("experiments") or {}).items()
    return [(e, spec) for e, spec in experiments if (not only or e in only) and isinstance(spec, Mapping)]


def _narrow_tasks(config: Mapping, only: Sequence[str] | None, tasks: Sequence[str]) -> dict[str, list[str]]:
    """Per experiment kept by ``only`` (all when None), its tasks that are in ``tasks``, in the
    config's order; experiments with none are left out. Raises ValueError naming every task of
    ``tasks`` that no kept experiment trains (a typo would otherwise pilot less than asked)."""
    narrowed: dict[str, list[str]] = {}
    for exp, spec in _kept_experiments(config, only):
        kept = [t for t in spec.get("tasks") or [] if t in tasks]
        if kept:
            narrowed[exp] = kept
    unused = [t for t in tasks if not any(t in kept for kept in narrowed.values())]
    if unused:
        raise ValueError(
            f"--tasks {' '.join(unused)}: no experiment{' of --only' if only else ''} trains "
            f"{'this task' if len(unused) == 1 else 'these tasks'}"
        )
    return narrowed


def workflow_dir(explicit: str | Path | None = None) -> Path:
    """The workflow folder (holding the ``Snakefile``): ``explicit``, else the checkout this
    package lives in, else the current directory."""
    if explicit is not None:
        return Path(explicit).resolve()
    here = Path(__file__).resolve().parents[2]
    return here if (here / "Snakefile").exists() else Path.cwd()


#: seeds a condition needs before a DSA floor that holds at every grid setting is a finding
#: (``at DSA floor (robust)``) rather than a flag (issue 32)
FLOOR_MIN_SEEDS = 6
#: the pilot fails a condition whose converged fraction is below this (issue 32: 80% of seeds)
MIN_CONVERGED_FRACTION = 0.8


def run_pilot(
    workdir: Path,
    config_path: Path,
    overlay_path: Path,
    root: str,
    cores: int,
    extra: Sequence[str] = (),
    conditions: Sequence[str] = (),
) -> int:
    """Run ``python -m snakemake`` in ``workdir`` on the config plus the overlay, building only
    the pilot's ``meta``, ``networks`` and ``pairwise`` tables and the DSA grid of each of
    ``conditions`` (``pairwise/<c>/dsa_grid.parquet``: whether a DSA floor holds at every
    setting); returns Snakemake's exit code."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        str(cores),
        "--keep-going",
        "--configfile",
        str(config_path),
        str(overlay_path),
        "--",
        *[f"{root}/{t}" for t in PILOT_TARGETS],
        *[f"{root}/pairwise/{c}/dsa_grid.parquet" for c in conditions],
    ]
    cmd[cmd.index("--") : cmd.index("--")] = list(extra)
    print("pilot: " + " ".join(cmd[1:]), file=sys.stderr, flush=True)
    return subprocess.call(cmd, cwd=workdir)


# --------------------------------------------------------------------------- per condition


def floor_verdict(n_converged: int, grid: pd.DataFrame | None) -> tuple[str, str]:
    """(floor, flag) of a condition whose mean DSA null is at or above its mean between-network
    distance at the task's setting. ``grid``: its rows of the DSA robustness grid
    (``pairwise/<c>/dsa_grid.parquet``, :data:`degeneracy.pipeline.dsa_grid.GRID_COLUMNS`).

    - the floor holds at every grid setting and at least :data:`FLOOR_MIN_SEEDS` networks
      converged: ``("robust", "")``, a finding (the networks' dynamics differ by less than one
      network's probe-to-probe difference), not a failure;
    - it holds at some settings but not others: a flag naming them (it points at a setting);
    - too few seeds, or no grid: a flag saying what is missing."""
    if grid is None or not len(grid):
        return "", "DSA null >= between (no DSA grid to tell a robust floor from a setting)"
    keys = ["rank", "delay_interval"]
    mean = grid.groupby(keys + ["metric"])["value"].mean().unstack("metric")
    if "dsa" not in mean or "dsa_null" not in mean:
        return "", "DSA null >= between (the DSA grid has no pairs)"
    at = mean["dsa_null"] >= mean["dsa"]
    if not at.all():
        held = [f"rank {r} interval {i}" for (r, i), v in at.items() if v]
        free = [f"rank {r} interval {i}" for (r, i), v in at.items() if not v]
        return "", (
            f"DSA floor at {len(held)} of {len(at)} grid settings ({', '.join(held)}), not at "
            f"{', '.join(free)}: a DSA setting, not the networks"
        )
    if n_converged < FLOOR_MIN_SEEDS:
        return "", (
            f"DSA floor at all {len(at)} grid settings with {n_converged} converged networks; "
            f"a robust floor needs {FLOOR_MIN_SEEDS} (--pilot-seeds {FLOOR_MIN_SEEDS})"
        )
    return "robust", ""


def condition_table(
    networks: pd.DataFrame, pairwise: pd.DataFrame, bench: pd.DataFrame, grid: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per condition of the pilot: ``n`` networks, ``n_converged``, ``n_diverged``,
    ``steps_converged`` (median optimiser steps of the converged networks, NaN if none),
    ``steps_max`` (most steps of any network), ``train_s`` (median wall seconds of its train
    jobs), ``extract_s``, ``dsa_null`` (mean DSA noise floor), ``dsa_between`` (mean DSA distance
    between its networks), ``n_pairs``, ``floor`` (``"robust"`` when the DSA null is at or
    above the between distance at every setting of the DSA grid over at least
    :data:`FLOOR_MIN_SEEDS` converged networks: reported, not failed; :func:`floor_verdict`),
    ``flag`` (why the condition would fail, "" if it would not: fewer than
    :data:`MIN_CONVERGED_FRACTION` of its networks converged, or a DSA floor that is not robust).
    ``grid``: the pilot's DSA-grid tables concatenated (None: floors cannot be robust)."""
    import pandas as pd

    rows = []
    for cid, g in networks.groupby("condition", sort=True):
        conv = g[g["converged"].astype(bool)]
        pw = pairwise[pairwise["condition"] == cid] if len(pairwise) else pairwise
        null = pw.loc[pw["metric"] == "dsa_null", "value"] if len(pw) else pd.Series(dtype=float)
        between = pw.loc[pw["metric"] == "dsa", "value"] if len(pw) else pd.Series(dtype=float)
        b = bench[bench["condition"] == cid]
        row = {
            "condition": cid,
            "n": len(g),
            "n_converged": len(conv),
            "n_diverged": int((g["status"] == "diverged").sum()) if "status" in g else 0,
            "steps_converged": float(conv["steps"].median()) if len(conv) else math.nan,
            "steps_max": int(g["steps"].max()),
            "train_s": float(b.loc[b["stage"] == "train", "s"].median()),
            "extract_s": float(b.loc[b["stage"] == "extract", "s"].median()),
            "dsa_null": float(null.mean()) if len(null) else math.nan,
            "dsa_between": float(between.mean()) if len(between) else math.nan,
            "n_pairs": len(between),
        }
        flags = []
        row["floor"] = ""
        if row["n_converged"] < MIN_CONVERGED_FRACTION * row["n"]:
            flags.append(f"{row['n_converged']} of {row['n']} converged (< {MIN_CONVERGED_FRACTION:.0%})")
        if len(null) and len(between) and row["dsa_null"] >= row["dsa_between"]:
            g_rows = grid[grid["condition"] == cid] if grid is not None and len(grid) else None
            floor, why = floor_verdict(row["n_converged"], g_rows)
            row["floor"] = floor
            if why:
                flags.append(f"DSA null {row['dsa_null']:.3g} >= between {row['dsa_between']:.3g}: {why}")
        row["flag"] = "; ".join(flags)
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- cost projection


@dataclass
class StageCost:
    """Per-unit cost of a scaled stage, measured on the pilot: ``startup_s`` (wall seconds a job
    spends outside the library call: interpreter, imports, files), ``per_unit_s`` (seconds per
    network for dsa_fit, per pair for the pairwise stages, by condition; timed in this process
    on the pilot's own files), ``how`` (how it was measured)."""

    startup_s: float
    per_unit_s: dict[str, float] = field(default_factory=dict)
    how: str = ""


def _paths(root: Path, cid: str, seeds: Sequence[int], name: str) -> list[str]:
    return [str(root / "extract" / cid / f"seed{s}" / name) for s in seeds]


#: the stages projected per unit: dsa_fit per converged network, the pairwise stages per pair
UNIT_STAGES = ("dsa_fit", "pairwise_dsa", "pairwise_weights")


def _units(stage: str, networks: int) -> int:
    """Units of a ``UNIT_STAGES`` job over ``networks`` networks: the networks for dsa_fit, their
    n(n-1)/2 pairs for the pairwise stages."""
    return networks if stage == "dsa_fit" else networks * (networks - 1) // 2


def _median_job_s(bench: pd.DataFrame, stage: str) -> float:
    """Median wall seconds of the stage's pilot jobs (NaN when it has none)."""
    jobs = bench[bench["stage"] == stage]
    return float(jobs["s"].median()) if len(jobs) else math.nan


def time_scaled_stages(study, root: Path, table: pd.DataFrame, bench: pd.DataFrame) -> dict[str, StageCost]:
    """Re-time dsa_fit, pairwise_dsa and pairwise_weights of every pilot condition with at least
    two converged networks in this process (outputs to a temporary folder), so that the per-
    network / per-pair cost is separated from each job's start-up (job wall seconds minus the
    in-process seconds, median over jobs). A warm-up call (imports) is not counted."""
    import pandas as pd

    from .pipeline.dsa_fit import dsa_fit
    from .pipeline.pairwise_dsa import pairwise_dsa
    from .pipeline.pairwise_weights import pairwise_weights

    weights = study.config["weights"]
    timed: dict[str, dict[str, float]] = {st: {} for st in UNIT_STAGES}  # in-process seconds per job
    converged = dict(zip(table["condition"], table["n_converged"]))
    usable = table[table["n_converged"] >= 2]["condition"].tolist()
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        for k, cid in enumerate(usable if not usable else [usable[0]] + usable):
            warm = k == 0
            cond = study.conditions[cid]
            seeds = cond.seeds
            dsa = cond.analysis["dsa"]
            t0 = time.perf_counter()
            dsa_fit(
                cid,
                _paths(root, cid, seeds, "network.parquet"),
                _paths(root, cid, seeds, "trajectories.parquet"),
                dsa,
                tmpd / "ops.parquet",
                tmpd / "null.parquet",
            )
            t1 = time.perf_counter()
            pairwise_dsa(cid, tmpd / "ops.parquet", tmpd / "null.parquet", dsa, tmpd / "dsa.parquet")
            t2 = time.perf_counter()
            pairwise_weights(
                cid,
                _paths(root, cid, seeds, "network.parquet"),
                _paths(root, cid, seeds, "weights.parquet"),
                weights,
                tmpd / "w.parquet",
            )
            t3 = time.perf_counter()
            if warm:
                continue
            for stage, dt in zip(UNIT_STAGES, (t1 - t0, t2 - t1, t3 - t2)):
                timed[stage][cid] = dt
    out = {}
    for stage, done in timed.items():
        jobs = bench[(bench["stage"] == stage) & bench["condition"].isin(list(done))]
        # a condition's chunk jobs together ran its pairs once: its start-up is per job
        over = [(g["s"].sum() - done[c]) / len(g) for c, g in jobs.groupby("condition")]
        # no condition with two converged networks: the job time as a whole
        startup = max(0.0, float(pd.Series(over).median())) if over else _median_job_s(bench, stage)
        per_unit = {c: done[c] / _units(stage, int(converged[c])) for c in done}
        out[stage] = StageCost(startup, per_unit, "in-process re-timing of the pilot's own files")
    return out


#: where plan --no-pilot takes its durations from
NO_PILOT = (
    "the measured costs (degeneracy.costs.MEASURED, degeneracy.plan.TRAIN_S_N128 and measured_costs; "
    "docs/plan.md), not a pilot of this config"
)

#: how --no-retime measures the per-unit stages (also the projection's note)
NO_RETIME = "the pilot's job wall time per network or pair, start-up included (--no-retime; an upper bound)"
#: fewest units (networks for dsa_fit, pairs) of a pilot job whose wall time per unit is used
MIN_UNITS = 3


def job_scaled_stages(table: pd.DataFrame, bench: pd.DataFrame) -> dict[str, StageCost]:
    """Per-unit costs of dsa_fit, pairwise_dsa and pairwise_weights from the pilot's job wall
    times alone (``plan --no-retime``): a job's whole wall seconds divided by its units (converged
    networks for dsa_fit, their pairs for the pairwise stages), start-up 0. Each unit then carries
    the job's start-up, so for conditions of many seeds this is an upper bound. A condition with
    fewer than :data:`MIN_UNITS` units gives no per-unit cost (a 2-seed pilot's one pair is
    mostly the job's per-network work and start-up: 4.4 s for one n = 128 weight pair whose
    search takes 0.54 s), so the projection takes the cost model for it; a stage with none at
    all keeps its median job time as start-up, as :func:`time_scaled_stages` does."""
    converged = dict(zip(table["condition"], table["n_converged"])) if len(table) else {}
    out = {}
    for stage in UNIT_STAGES:
        per = {}
        for cid, g in bench[bench["stage"] == stage].groupby("condition"):
            units = _units(stage, int(converged.get(cid, 0)))  # all chunk jobs of the condition together
            if units >= MIN_UNITS:
                per[cid] = float(g["s"].sum()) / units
        startup = 0.0 if per else _median_job_s(bench, stage)
        out[stage] = StageCost(startup, per, NO_RETIME)
    return out


@dataclass
class Projection:
    """Projected cost of the full config: ``per_condition`` (one row per condition with
    ``networks``, ``pairs`` and core-seconds per stage), ``stages`` (core-hours per stage),
    ``longest_s`` (the longest single job, wall seconds), ``notes``."""

    per_condition: pd.DataFrame
    stages: pd.DataFrame
    longest_s: float
    longest_job: str
    notes: list[str]


def rule_resources(workdir: Path) -> dict[str, dict[str, int]]:
    """``threads``, ``mem_mb`` and ``runtime`` (minutes) of each named rule, read from
    ``rules/*.smk`` (rules at any indentation, e.g. inside an ``if``)."""
    out: dict[str, dict[str, int]] = {}
    for smk in sorted((workdir / "rules").glob("*.smk")):
        for block in re.split(r"^[ \t]*rule\s+(?=\w+:)", smk.read_text(), flags=re.MULTILINE)[1:]:
            name = block.split(":", 1)[0].strip()
            info = {}
            for key, pat in (
                ("threads", r"threads:\s*(\d+)"),
                ("mem_mb", r"mem_mb\s*=\s*(\d+)"),
                ("runtime", r"runtime\s*=\s*(\d+)"),
            ):
                m = re.search(pat, block)
                if m:
                    info[key] = int(m.group(1))
            out[name] = info
    return out


def unit_model_s(cond, stage: str, absolute: bool = False) -> float:
    """Seconds of one unit of ``stage`` for condition ``cond`` by the cost model
    (:func:`measured_costs`): a whole job for ``train`` and ``extract``, one network for
    ``dsa_fit``, one pair for the pairwise stages. Used to carry a measured cost to another
    condition of the same task (the ratio of two values, :func:`_lookup`) and, with
    ``absolute``, as the cost of a condition whose task the pilot did not run. Training's ratio
    is its width factor only (:func:`width_factor`): the pilot, not the model, says how long a
    task or model kind takes to converge."""
    if stage == "train":
        if absolute:
            return measured_costs(cond, stage, 1)[0]
        return width_factor(int(cond.config["model"].get("n_units", 128)))
    if stage == "extract":
        return measured_costs(cond, stage, 1)[0]
    return measured_costs(cond, stage, 1)[0] - measured_costs(cond, stage, 0)[0]


def _lookup(per: Mapping[str, float], cid: str, conditions: Mapping[str, Any], stage: str) -> tuple[float, bool]:
    """Per-unit cost of condition ``cid`` in ``stage`` (second value True when not measured for it).

    Measured (``per``): as measured. Else the measured condition of its task with the largest
    modelled cost (:func:`unit_model_s`; the median of several with equal cost), scaled down by the
    model's ratio: its per-unit figure carries the least job start-up (a 1-pair n = 32 job is
    almost all start-up, and scaled up it would project hours). When the pilot ran no condition
    of its task, or only cheaper ones, the cost model's own value (measured at the paper's largest
    shapes): a cost measured on another task's trial length and probe is no better than the
    model, and a small job's start-up must not be scaled up."""
    if cid in per:
        return per[cid], False
    cond = conditions[cid]
    model = {c: unit_model_s(conditions[c], stage) for c in per if c in conditions and conditions[c].task == cond.task}
    target = unit_model_s(cond, stage)
    top = max(model.values(), default=0.0)
    if top < target * (1 - 1e-9):
        return unit_model_s(cond, stage, absolute=True), True
    chosen = [c for c, m in model.items() if m >= top * (1 - 1e-9)]
    return statistics.median(per[c] * target / model[c] for c in chosen), True


def full_budget_seconds(
    job_s: float, elapsed_s: float, epochs: int, pilot_max_epochs: int, full_max_epochs: int, status: str
) -> float:
    """Projected wall seconds of one training job at the full config's epoch budget. A network
    that ran out of the pilot's epochs without converging (``status`` not_converged and
    ``epochs`` >= ``pilot_max_epochs``) trains ``full_max_epochs`` epochs at the pilot's seconds
    per epoch (``elapsed_s / epochs``), plus the job's start-up (``job_s - elapsed_s``); an upper
    bound, as the stop rule may end it earlier. Any other network: ``job_s`` as measured."""
    if status == "not_converged" and epochs >= pilot_max_epochs and full_max_epochs > epochs > 0:
        return max(job_s - elapsed_s, 0.0) + elapsed_s * full_max_epochs / epochs
    return float(job_s)


def train_runs(
    root: Path, networks: pd.DataFrame, bench: pd.DataFrame, pilot_study, full_study, budget_scale: float
) -> pd.DataFrame:
    """One row per pilot training job: ``condition``, ``seed``, ``status``, ``s`` (job wall
    seconds), ``elapsed_s`` (training wall seconds, last line of its training log), ``epochs``,
    ``pilot_max_epochs``, ``full_max_epochs`` (the full config's budget of the condition, or the
    pilot's / ``budget_scale``) and ``full_s`` (:func:`full_budget_seconds`)."""
    import pandas as pd

    from .io import CorruptFileError, read_parquet

    status = networks.set_index(["condition", "seed"])["status"].to_dict() if len(networks) else {}
    rows = []
    for job in bench[bench["stage"] == "train"].itertuples():
        cid, seed = job.condition, int(job.seed)
        log = root / "train" / cid / f"seed{seed}.log.parquet"
        try:
            lg = read_parquet(log)
            elapsed, epochs = float(lg["elapsed_s"].iloc[-1]), int(lg["epoch"].iloc[-1])
        except (CorruptFileError, OSError, ValueError, KeyError, IndexError):  # no usable log: the job time as a whole
            elapsed, epochs = 0.0, 0
        pmax = int(pilot_study.conditions[cid].config["training"]["max_epochs"]) if cid in pilot_study.conditions else 0
        fcond = full_study.conditions.get(cid)
        fmax = int(fcond.config["training"]["max_epochs"]) if fcond else round(pmax / budget_scale)
        st = str(status.get((cid, seed), "unknown"))
        rows.append(
            {
                "condition": cid,
                "seed": seed,
                "status": st,
                "s": job.s,
                "elapsed_s": elapsed,
                "epochs": epochs,
                "pilot_max_epochs": pmax,
                "full_max_epochs": fmax,
                "full_s": full_budget_seconds(job.s, elapsed, epochs, pmax, fmax, st),
            }
        )
    cols = ["condition", "seed", "status", "s", "elapsed_s", "epochs", "pilot_max_epochs", "full_max_epochs", "full_s"]
    return pd.DataFrame(rows, columns=cols)


def project(
    full_study,
    table: pd.DataFrame,
    runs: pd.DataFrame,
    bench: pd.DataFrame,
    costs: Mapping[str, StageCost],
    resources: Mapping[str, Mapping[str, int]],
) -> Projection:
    """Project the full study from the pilot. Per condition with ``n`` seeds (all assumed to
    train; an upper bound when some diverge early): train costs ``n`` x the mean of the pilot
    networks' ``full_s`` (``runs``, :func:`train_runs`: at the full epoch budget), extract ``n`` x
    the pilot's mean wall seconds per network; dsa_fit costs start-up + n x seconds per network,
    each pairwise stage start-up + n(n-1)/2 x seconds per pair. Core-seconds are wall seconds x
    the rule's threads. Conditions without pilot measurements take the costliest measured
    condition of the same task, scaled by the cost model's ratio (:func:`unit_model_s`) between
    the two conditions' widths and probe sizes, or the cost model itself when the pilot ran no
    condition of their task (noted)."""
    import pandas as pd

    notes: list[str] = []
    net_cost: dict[str, dict[str, float]] = {"train": {}, "extract": {}}
    piloted = set(table["condition"]) if len(table) else set()
    for cid, g in runs.groupby("condition"):
        net_cost["train"][cid] = float(g["full_s"].mean())
    for cid, g in bench[bench["stage"] == "extract"].groupby("condition"):
        net_cost["extract"][cid] = float(g["s"].mean())
    threads = {st: resources.get(st, {}).get("threads", 1) for st in ("train", "extract", *UNIT_STAGES)}
    rows, borrowed = [], set()
    longest, longest_job = 0.0, ""
    for cid, cond in sorted(full_study.conditions.items()):
        n = len(cond.seeds)
        pairs = n * (n - 1) // 2
        row: dict[str, Any] = {"condition": cid, "networks": n, "pairs": pairs}
        for st in ("train", "extract"):
            per, b = _lookup(net_cost[st], cid, full_study.conditions, st)
            borrowed |= {cid} if b else set()
            row[st] = n * per * threads[st]
            if per > longest:
                longest, longest_job = per, f"{st} {cid}"
        for st in UNIT_STAGES:
            u = _units(st, n)
            cost = costs.get(st)
            if cost is None:
                row[st] = math.nan
                continue
            per, b = _lookup(cost.per_unit_s, cid, full_study.conditions, st)
            borrowed |= {cid} if b else set()
            job = cost.startup_s + (per * u if math.isfinite(per) else 0.0)
            row[st] = job * threads[st]
            if job > longest:
                longest, longest_job = job, f"{st} {cid}"
        rows.append(row)
    per_condition = pd.DataFrame(rows)
    stage_rows = []
    for st in ("train", "extract", *UNIT_STAGES):
        stage_rows.append({"stage": st, "core_hours": per_condition[st].sum() / 3600.0})
    agg = bench[bench["stage"] == "aggregation"]
    pilot_nets = int(table["n"].sum()) if len(table) else 0
    if len(agg) and pilot_nets:
        # the concatenations read one file per network: scale their pilot time by networks
        stage_rows.append(
            {
                "stage": "aggregation",
                "core_hours": float(agg["s"].sum()) * max(1.0, per_condition["networks"].sum() / pilot_nets) / 3600.0,
            }
        )
        notes.append(
            "aggregation: the pilot's meta/networks/pairwise jobs scaled by networks; "
            "summaries, effects and figures are not piloted (local jobs, seconds to minutes)"
        )
    stages = pd.DataFrame(stage_rows)
    unpiloted = sorted(set(full_study.conditions) - piloted)
    if unpiloted:
        notes.append(
            f"{len(unpiloted)} of {len(full_study.conditions)} conditions not piloted: "
            "their cost is that of the costliest piloted condition of the same task, scaled down to "
            "the condition's width and probe size by the cost model, or the cost model's own value "
            "where the pilot ran none of its task or only cheaper ones (plan.unit_model_s)"
        )
    elif borrowed:
        notes.append(
            f"{len(borrowed)} conditions without two converged pilot networks take the "
            "per-network / per-pair cost of their task's costliest piloted condition, scaled to their width and "
            "probe size, or the cost model's"
        )
    for st in UNIT_STAGES:
        if st in costs and not costs[st].per_unit_s:
            notes.append(
                f"{st}: no pilot job had enough units to time, so its per-"
                f"{'network' if st == 'dsa_fit' else 'pair'} cost is the cost model's "
                f"(plan.unit_model_s; pilot jobs of fewer than {MIN_UNITS} units are mostly start-up)"
            )
    return Projection(per_condition, stages, longest, longest_job, notes)


# --------------------------------------------------------------------------- report


def _fmt(x: float, spec: str = ".3g") -> str:
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "—"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def render(
    config_path: str,
    pilot_root: str,
    table: pd.DataFrame,
    proj: Projection,
    costs: Mapping[str, StageCost],
    cores: int,
    resources: Mapping[str, Mapping[str, int]],
) -> str:
    """The plan as Markdown: the pilot's per-condition table, the full config's projection,
    its core-hours and the flags."""
    import pandas as pd

    out = [
        f"# Plan for {config_path}",
        "",
        f"Pilot: `{pilot_root}/`",
        "",
        "| condition | converged | steps to threshold | s/network (train) | DSA null | DSA between | flag |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in table.itertuples():
        steps = _fmt(r.steps_converged, ".0f") if r.n_converged else f"> {r.steps_max}"
        out.append(
            f"| {r.condition} | {r.n_converged}/{r.n} | {steps} | "
            f"{_fmt(r.train_s, '.1f')} | {_fmt(r.dsa_null)} | {_fmt(r.dsa_between)} | "
            f"{r.flag or ('at DSA floor (robust)' if getattr(r, 'floor', '') == 'robust' else 'ok')} |"
        )
    pc = proj.per_condition
    total_cs = float(pc[["train", "extract", *UNIT_STAGES]].sum().sum())
    total_cs += float(proj.stages.loc[proj.stages["stage"] == "aggregation", "core_hours"].sum()) * 3600
    out += [
        "",
        (
            f"## Projection of the full config ({len(pc)} conditions, {int(pc['networks'].sum())} networks, "
            f"{int(pc['pairs'].sum())} pairs per metric)"
        ),
        "",
        "| stage | core-hours | start-up s/job | per unit |",
        "|---|---:|---:|---|",
    ]
    for r in proj.stages.itertuples():
        c = costs.get(r.stage)
        unit = ""
        if c is not None and c.per_unit_s:
            med = float(pd.Series(list(c.per_unit_s.values())).median())
            unit = f"{med:.3g} s per {'network' if r.stage == 'dsa_fit' else 'pair'} (median)"
        elif r.stage in ("train", "extract"):
            unit = "pilot's mean s per network"
        out.append(f"| {r.stage} | {r.core_hours:.3g} | {_fmt(c.startup_s, '.1f') if c else ''} | {unit} |")
    out += [
        f"| total | {total_cs / 3600:.3g} | | |",
        "",
        (
            f"Core-hours / {cores} cores: {_duration(total_cs / max(cores, 1))}. Largest per-condition "
            f"stage: {_duration(proj.longest_s)} ({proj.longest_job}); the workflow runs "
            "pairwise_weights and pairwise_svcca in chunks of seed blocks, so the wall time is the list "
            "schedule's makespan below, not this."
        ),
    ]
    warn = []
    for st in ("train", "dsa_fit", "pairwise_dsa"):  # one job per network or condition; chunks: below
        rt = resources.get(st, {}).get("runtime")
        per_job = pc[st] / pc["networks"] if st == "train" else pc[st] / resources.get(st, {}).get("threads", 1)
        if rt and len(per_job) and float(per_job.max()) > 60 * rt:
            warn.append(
                f"projected longest {st} job {_duration(float(per_job.max()))} exceeds the rule's runtime "
                f"request of {rt} min (set-resources in the SLURM profile)"
            )
    out += [""] + [f"- {n}" for n in proj.notes + warn]
    floors = table[table["floor"] == "robust"] if len(table) and "floor" in table else table.iloc[:0]
    out += ["", f"## At DSA floor (robust) ({len(floors)})", ""]
    out += [
        f"- {r.condition}: DSA null {_fmt(r.dsa_null)} >= between {_fmt(r.dsa_between)} at every "
        f"DSA grid setting, {r.n_converged} converged networks (a finding, not a failure)"
        for r in floors.itertuples()
    ] or ["- none"]
    flagged = table[table["flag"] != ""] if len(table) else table
    out += ["", f"## Flags ({len(flagged)})", ""]
    out += [f"- FLAG {r.condition}: {r.flag}" for r in flagged.itertuples()] or ["- none"]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- command line


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``plan`` on the ``python -m degeneracy`` subcommands."""
    p = sub.add_parser(
        "plan",
        help="pilot a study config and project its cost (docs/plan.md)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("config", help="study config (YAML), e.g. configs/paper.yaml")
    p.add_argument("--pilot-seeds", type=int, default=2, help="seeds per condition in the pilot (default 2)")
    p.add_argument(
        "--budget-scale",
        type=float,
        default=1.0,
        help="multiply every max_epochs by this in the pilot (0 < x <= 1; default 1)",
    )
    p.add_argument("--cores", type=int, default=2, help="cores of the machine the projection is for (default 2)")
    p.add_argument("--pilot-cores", type=int, help="cores for the pilot run (default: --cores, at most this machine's)")
    p.add_argument("--study-suffix", default="pilot", help="pilot study name: <study>-<suffix> (default pilot)")
    p.add_argument("--only", nargs="+", metavar="EXPERIMENT", help="pilot only these experiments")
    p.add_argument(
        "--extremes", action="store_true", help="pilot only each experiment's first and last level (per task)"
    )
    p.add_argument(
        "--tasks", nargs="+", metavar="TASK", help="pilot only these tasks of each experiment (e.g. lorenz96)"
    )
    p.add_argument(
        "--no-retime",
        action="store_true",
        help="project DSA and weight stages from the pilot's job times (faster; an upper bound) "
        "instead of re-timing them in this process",
    )
    p.add_argument("--gpus", type=int, default=0, help="GPUs of the cluster (trainings run on them; default 0)")
    p.add_argument(
        "--no-pilot",
        action="store_true",
        help="no pilot: project the full config's DAG from the measured costs in degeneracy.plan "
        "(docs/plan.md, 'Wall time of a cluster') and print its wall time on --cores / --gpus",
    )
    p.add_argument("--workdir", help="workflow folder (default: the checkout of this package)")
    p.set_defaults(func=plan_command)


def plan_command(args: argparse.Namespace) -> int:
    """Run the pilot and print the plan; returns 0, 1 when a condition is flagged, 2 when the
    config is invalid or the pilot workflow failed before producing its tables."""
    import pandas as pd

    from .conditions import deep_merge
    from .io import read_parquet
    from .validation import StudyConfigError, checked_study

    if not 0 < args.budget_scale <= 1:
        print("error: --budget-scale must be in (0, 1]", file=sys.stderr)
        return 2
    if args.pilot_seeds < 2:
        print("error: --pilot-seeds must be >= 2 (DSA needs a pair)", file=sys.stderr)
        return 2
    workdir = workflow_dir(args.workdir)
    config_path = Path(args.config).resolve()
    config = load_config(config_path)
    if args.no_pilot:
        try:
            full = checked_study(config)
        except StudyConfigError as exc:
            print(f"config error: {' '.join(str(exc).split())}", file=sys.stderr)
            return 2
        jobs = study_jobs(full, measured_costs, gpus=args.gpus)
        n_net = sum(len(c.seeds) for c in full.conditions.values())
        print(f"# Plan for {args.config} (no pilot)\n")
        print(f"{len(full.conditions)} conditions, {n_net} networks, {len(jobs)} jobs.\n")
        print(cluster_report(jobs, args.cores, args.gpus, rule_resources(workdir), NO_PILOT))
        return 0
    try:
        overlay = pilot_overlay(
            config, args.pilot_seeds, args.budget_scale, args.study_suffix, args.only, args.extremes, args.tasks
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        full = checked_study(config)
        pilot = checked_study(deep_merge(config, overlay))
    except StudyConfigError as exc:
        print(f"config error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    root = workdir / pilot.root
    root.mkdir(parents=True, exist_ok=True)
    overlay_path = root / "plan_overlay.yaml"
    overlay_path.write_text(yaml.safe_dump(overlay, sort_keys=False))
    pilot_cores = args.pilot_cores or min(args.cores, os.cpu_count() or 1)
    rc = run_pilot(workdir, config_path, overlay_path, pilot.root, pilot_cores, conditions=sorted(pilot.conditions))
    missing = [t for t in PILOT_TARGETS if not (root / t).exists()]
    if missing:
        print(
            f"error: the pilot workflow failed (exit {rc}); missing {', '.join(missing)} in {root} "
            f"(job logs: {root}/logs/)",
            file=sys.stderr,
        )
        return 2
    networks = read_parquet(root / "networks.parquet")
    pairwise = read_parquet(root / "pairwise.parquet")
    bench = read_benchmarks(root)
    grids = [root / "pairwise" / c / "dsa_grid.parquet" for c in sorted(pilot.conditions)]
    grid = pd.concat([read_parquet(g) for g in grids if g.exists()] or [pd.DataFrame()], ignore_index=True)
    table = condition_table(networks, pairwise, bench, grid)
    costs = job_scaled_stages(table, bench) if args.no_retime else time_scaled_stages(pilot, root, table, bench)
    resources = rule_resources(workdir)
    runs = train_runs(root, networks, bench, pilot, full, args.budget_scale)
    proj = project(full, table, runs, bench, costs, resources)
    if args.no_retime:
        proj.notes.append(f"{', '.join(UNIT_STAGES)}: {NO_RETIME}")
    if (runs["full_s"] > runs["s"]).any():
        n_out = int((runs["full_s"] > runs["s"]).sum())
        proj.notes.append(
            f"{n_out} pilot network{'' if n_out == 1 else 's'} ran out of their "
            f"{args.budget_scale:g}x epoch budget: counted at the full budget's epochs "
            "(an upper bound: the stop rule may end them earlier)"
        )
    text = render(str(args.config), pilot.root, table, proj, costs, args.cores, resources)
    jobs = study_jobs(full, pilot_cost(full, proj, costs, resources), gpus=args.gpus)
    text += "\n" + cluster_report(
        jobs,
        args.cores,
        args.gpus,
        resources,
        "train, extract, dsa_fit, pairwise_dsa and pairwise_weights "
        "from this pilot, the other rules from the measured costs (docs/plan.md)",
    )
    (root / "plan.md").write_text(text)
    print(text)
    print(f"wrote {pilot.root}/plan.md")
    flagged = table[table["flag"] != ""] if len(table) else table
    over = over_requests(jobs, resources)
    if rc != 0:
        print(f"warning: the pilot workflow exited {rc} (some jobs failed; see {pilot.root}/logs/)", file=sys.stderr)
    if over:
        print(f"{len(over)} jobs projected above their requests (listed above): the plan fails", file=sys.stderr)
    return 1 if len(flagged) or over else 0


# --------------------------------------------------------------------------- wall time of a cluster


@dataclass
class Job:
    """One job of the study's DAG for :func:`list_schedule`: ``seconds`` (projected wall time),
    ``threads`` (cores it holds), ``gpus``, ``mem_mb`` (projected peak memory, 0 unknown) and
    ``deps`` (names of the jobs whose outputs it reads)."""

    name: str
    rule: str
    seconds: float
    threads: int = 1
    gpus: int = 0
    mem_mb: float = 0.0
    deps: tuple[str, ...] = ()
    #: wall seconds on one GPU (and one core) when the job may run there instead; None: CPU only
    gpu_seconds: float | None = None

    @property
    def fastest(self) -> float:
        return self.seconds if self.gpu_seconds is None else min(self.seconds, self.gpu_seconds)


@dataclass
class Schedule:
    """A list schedule: ``makespan`` (s), ``start``/``finish`` per job (s), ``critical_path``
    (the longest chain of dependent jobs, first to last) and its length ``critical_s``."""

    makespan: float
    start: dict[str, float]
    finish: dict[str, float]
    critical_path: list[str]
    critical_s: float


def _topological(jobs: Mapping[str, Job]) -> list[str]:
    indeg = {n: 0 for n in jobs}
    users: dict[str, list[str]] = {n: [] for n in jobs}
    for j in jobs.values():
        for d in j.deps:
            if d not in jobs:
                raise ValueError(f"job {j.name} depends on unknown job {d}")
            indeg[j.name] += 1
            users[d].append(j.name)
    order, ready = [], [n for n, k in indeg.items() if k == 0]
    while ready:
        n = ready.pop()
        order.append(n)
        for u in users[n]:
            indeg[u] -= 1
            if indeg[u] == 0:
                ready.append(u)
    if len(order) != len(jobs):
        raise ValueError("the jobs' dependencies have a cycle")
    return order


def list_schedule(jobs: Sequence[Job], cores: int, gpus: int = 0) -> Schedule:
    """Greedy list scheduling of ``jobs`` on ``cores`` cores and ``gpus`` GPUs, respecting their
    dependencies: whenever a job finishes (and at time 0), every ready job that fits the free
    cores and GPUs starts, longest remaining chain first (critical-path priority); a job asks for
    at most ``cores`` threads. A job with ``gpu_seconds`` runs on a free GPU (holding one core)
    for that long, else on the CPU for ``seconds``. Durations are taken as given (no queueing or
    start-up delays); the critical path takes each job's fastest duration."""
    import heapq

    if cores < 1:
        raise ValueError("cores must be >= 1")
    by = {j.name: j for j in jobs}
    if len(by) != len(jobs):
        raise ValueError("job names must be unique")
    order = _topological(by)
    users: dict[str, list[str]] = {n: [] for n in by}
    for j in jobs:
        for d in j.deps:
            users[d].append(j.name)
    tail: dict[str, float] = {}  # longest chain from the job's start to the end of the DAG
    nxt: dict[str, str | None] = {}
    for n in reversed(order):
        best, arg = 0.0, None
        for u in users[n]:
            if tail[u] > best:
                best, arg = tail[u], u
        tail[n], nxt[n] = by[n].fastest + best, arg
    head = max(by, key=lambda n: tail[n] if not by[n].deps else -1.0, default=None)
    path, n = [], head
    while n is not None:
        path.append(n)
        n = nxt[n]
    for j in jobs:
        if j.gpus > gpus:
            raise ValueError(f"job {j.name} needs {j.gpus} GPUs; the cluster has {gpus}")
    waiting = {n: len(by[n].deps) for n in by}
    ready = [(-tail[n], n) for n in by if waiting[n] == 0]
    heapq.heapify(ready)
    running: list[tuple[float, str]] = []
    free_c, free_g, now = cores, gpus, 0.0
    start: dict[str, float] = {}
    finish: dict[str, float] = {}
    used: dict[str, tuple[int, int]] = {}
    while ready or running:
        held = []
        while ready and free_c > 0:
            item = heapq.heappop(ready)
            j = by[item[1]]
            need = min(j.threads, cores)
            on_gpu = j.gpus or (j.gpu_seconds is not None and free_g > 0)
            g = max(j.gpus, 1) if on_gpu else 0
            if need <= free_c and g <= free_g:
                free_c -= need
                free_g -= g
                used[j.name] = (need, g)
                start[j.name] = now
                secs = j.gpu_seconds if (on_gpu and j.gpu_seconds is not None) else j.seconds
                heapq.heappush(running, (now + secs, j.name))
            else:
                held.append(item)
        for item in held:
            heapq.heappush(ready, item)
        if not running:
            break
        now, name = heapq.heappop(running)
        done = [name]
        while running and running[0][0] <= now:
            done.append(heapq.heappop(running)[1])
        for name in done:
            finish[name] = now
            c, g = used.pop(name)
            free_c += c
            free_g += g
            for u in users[name]:
                waiting[u] -= 1
                if waiting[u] == 0:
                    heapq.heappush(ready, (-tail[u], u))
    return Schedule(max(finish.values(), default=0.0), start, finish, path, tail[head] if head else 0.0)


#: Per-network training seconds on one core at n <= 128, to each network's stop rule, by (task,
#: model kind): the pilots' s/network (docs/plan.md), weighted towards the slow conditions (a
#: network that never converges trains its full budget). Estimates where noted.
TRAIN_S_N128: dict[tuple[str, str], float] = {
    ("flipflop", "standard"): 45.0,  # 25.6-42.9 s
    ("flipflop", "mup"): 75.0,  # 13.8-71.6 s
    ("delayed_discrimination", "standard"): 700.0,  # 20-149 s; 5 channels 1,389 s (full budget)
    ("delayed_discrimination", "mup"): 400.0,  # 15-363 s
    ("sine", "standard"): 3600.0,  # plateau: the full 128,000 steps at about 35 steps/s
    ("sine", "mup"): 650.0,  # 351-642 s
    ("path_integration", "standard"): 800.0,  # 210-368 s at a quarter budget, still training
    ("path_integration", "mup"): 1540.0,  # 770 s at half the budget, not converged
    ("lorenz96", "standard"): 130.0,  # 17-126 s
}
#: H200 single-network training rates (steps/s, flip-flop, batch 64; docs/training.md) and the
#: CPU rate at n <= 128 they are compared with (flip-flop pilot: 1,664 steps in 25.7 s)
GPU_STEPS_PER_S = {128: 227.0, 512: 116.0}
CPU_STEPS_PER_S_N128 = 65.0


def width_factor(n: int) -> float:
    """CPU cost of a training or extraction step at width ``n`` relative to n = 128 (measured:
    4.17 and 35.6 ms per network-step at n = 128 and 512, about equal at n = 64)."""
    return max(1.0, n / 128.0) ** 1.55


def gpu_ratio(n: int) -> float:
    """Projected GPU / CPU wall time of one network's training at width ``n`` (one network per
    GPU at a time: its launch-bound rate, :data:`GPU_STEPS_PER_S`, against one core)."""
    gpu = GPU_STEPS_PER_S[128] * (128.0 / max(n, 128)) ** (
        math.log(GPU_STEPS_PER_S[128] / GPU_STEPS_PER_S[512]) / math.log(4)
    )
    return (CPU_STEPS_PER_S_N128 / width_factor(n)) / gpu


def measured_costs(cond, rule: str, units: int = 1) -> tuple[float, float]:
    """(seconds on one core, peak MB) of one job of ``rule`` for condition ``cond`` over
    ``units`` (networks for dsa_fit, dsa_grid and joint_dsa; pairs for pairwise_dsa and
    pairwise_weights; networks read for pairwise_svcca), from :data:`degeneracy.costs.MEASURED` and the pilots
    (docs/plan.md, "Wall time of a cluster"). Memory 0 where nothing was measured."""
    n = int(cond.config["model"].get("n_units", 128))
    trials = int(cond.analysis["probe"]["n_trials"])
    size = (n / 512.0) * (trials / 2048.0)  # trajectory size relative to the measured shapes
    kind = cond.config["model"].get("kind", "standard")
    if rule == "train":
        return TRAIN_S_N128.get((cond.task, kind), 600.0) * width_factor(n), 512.0 * max(n / 512.0, 0.25)
    if rule == "extract":
        # 287 s at n = 512 (job_memory.py, tangent kernel dominates); probes of 2,048 trials: x2
        return 20.0 + 2 * 287.0 * width_factor(n) / width_factor(512), 2545.0 * max(size, 0.2)
    if rule == "dsa_fit":
        # per network: the operator and its null (two Hankel fits), 4.6 GB at n = 512, 2,048 trials
        return 10.0 + units * costs.dsa_fit_network_s(n, trials), 4600.0 * max(size, 0.1)
    if rule == "dsa_grid_fit":
        # per network: one fit per delay interval and probe batch, and its 9 nulls
        return 10.0 + units * costs.dsa_grid_network_s(n, trials), 4600.0 * max(size, 0.1)
    if rule == "dsa_grid":
        # the pair distances of its 9 settings from the fitted operators (units: networks)
        return 10.0 + 9 * costs.MEASURED["dsa_distance_s"] * units * (units - 1) / 2, 1174.0
    if rule == "pairwise_dsa":
        return 10.0 + costs.MEASURED["dsa_distance_s"] * units, 1174.0  # 39 s for 1,225 pairs, 1.2 GB
    if rule == "pairwise_weights":
        return 5.0 + units * costs.weights_pair_s(n), 700.0 * max(n / 512.0, 0.25)
    if rule == "pairwise_svcca":
        # one SVD basis per network and probe batch; 5.4 GB for a pair at n = 512 and 2,048 trials
        return 5.0 + units * costs.svcca_network_s(n, trials), 5400.0 * max(size, 0.1)
    if rule == "joint_dsa":
        fit, mem = measured_costs(cond, "dsa_fit", units)
        return fit, mem
    if rule == "fixed_points":
        return 60.0 * width_factor(n), 0.0  # not measured
    return 30.0, 0.0  # gathers, concatenations, summaries, effects, figures: not measured


def study_jobs(study, cost=measured_costs, gpus: int = 0, figures: bool = True) -> list[Job]:
    """The jobs of ``study``'s DAG as the workflow plans them (rules/*.smk): train and extract per
    network, dsa_fit, pairwise_dsa and dsa_grid per condition, pairwise_weights and
    pairwise_svcca per chunk of seed blocks (``pairwise.pairs_per_job``) with their gathers, the
    joint DSA per experiment and task, fixed points, the study tables, summaries, effects and
    figures. ``cost(cond, rule, units) -> (seconds, MB)``; with ``gpus`` > 0 a training may run
    on a GPU (:func:`gpu_ratio` of its CPU time) when one is free, else on a core."""
    ppj = study.config["pairwise"]["pairs_per_job"]
    grid_cfg = study.config.get("dsa_grid", {})
    jobs: list[Job] = []
    nets_of: dict[str, list[str]] = {}
    tables: list[str] = []
    for cid, c in study.conditions.items():
        n_units = int(c.config["model"].get("n_units", 128))
        ext = []
        for s in c.seeds:
            sec, mb = cost(c, "train", 1)
            gsec = sec * gpu_ratio(n_units) if gpus else None
            jobs.append(Job(f"train {cid} {s}", "train", sec, 1, 0, mb, gpu_seconds=gsec))
            sec, mb = cost(c, "extract", 1)
            jobs.append(Job(f"extract {cid} {s}", "extract", sec, 1, 0, mb, (f"train {cid} {s}",)))
            ext.append(f"extract {cid} {s}")
        nets_of[cid] = ext
        k, pairs = len(c.seeds), len(c.seeds) * (len(c.seeds) - 1) // 2
        sec, mb = cost(c, "dsa_fit", k)
        jobs.append(Job(f"dsa_fit {cid}", "dsa_fit", sec, 1, 0, mb, tuple(ext)))
        sec, mb = cost(c, "pairwise_dsa", pairs)
        jobs.append(Job(f"pairwise_dsa {cid}", "pairwise_dsa", sec, 2, 0, mb, (f"dsa_fit {cid}",)))
        _, grid_blocks = c.grid_jobs(grid_cfg)
        block_jobs = []
        for b, members in grid_blocks.items():
            sec, mb = cost(c, "dsa_grid_fit", len(members))
            deps = tuple(f"extract {cid} {s}" for s in members)
            jobs.append(Job(f"dsa_grid_fit {cid} b{b}", "dsa_grid_fit", sec, 1, 0, mb, deps))
            block_jobs.append(f"dsa_grid_fit {cid} b{b}")
        sec, mb = cost(c, "dsa_grid", sum(len(m) for m in grid_blocks.values()))
        jobs.append(Job(f"dsa_grid {cid}", "dsa_grid", sec, 1, 0, mb, tuple(block_jobs)))
        tables += [f"pairwise_dsa {cid}"]
        for metric in ("weights", "svcca"):
            rule = f"pairwise_{metric}"
            chunk_jobs = []
            for a, b, sa, sb in c.pair_jobs(ppj)[1]:
                members = sorted(set(sa) | set(sb))
                units = len(members) if metric == "svcca" else sum(1 for x in sa for y in sb if x < y)
                sec, mb = cost(c, rule, units)
                name = f"{rule} {cid} b{a}-{b}"
                deps = tuple(f"extract {cid} {s}" for s in members)
                jobs.append(Job(name, rule, sec, 1, 0, mb, deps))
                chunk_jobs.append(name)
            sec, mb = cost(c, f"{rule}_gather", len(chunk_jobs))
            jobs.append(Job(f"{rule}_gather {cid}", f"{rule}_gather", min(sec, 5.0), 1, 0, mb, tuple(chunk_jobs)))
            tables.append(f"{rule}_gather {cid}")
    fp = set(study.config.get("fixed_points", {}).get("experiments", []))
    fixed = []
    for cid, s in study.jobs([e for e in study.experiments if e in fp]):
        sec, mb = cost(study.conditions[cid], "fixed_points", 1)
        jobs.append(Job(f"fixed_points {cid} {s}", "fixed_points", sec, 1, 0, mb, (f"train {cid} {s}",)))
        fixed.append(f"fixed_points {cid} {s}")
    joint = []
    for exp in study.config.get("joint_dsa", {}).get("experiments", []):
        if exp not in study.experiments:
            continue
        for task in sorted({r["task"] for r in study.meta_rows([exp])}):
            cids = sorted({r["condition"] for r in study.meta_rows([exp]) if r["task"] == task})
            deps = tuple(e for c in cids for e in nets_of[c])
            sec, mb = cost(study.conditions[cids[0]], "joint_dsa", len(deps))
            jobs.append(Job(f"joint_dsa {exp} {task}", "joint_dsa", sec, 1, 0, mb, deps))
            joint.append(f"joint_dsa {exp} {task}")
    all_ext = tuple(e for v in nets_of.values() for e in v)
    n_nets = len(all_ext)
    jobs.append(Job("networks", "networks", 5.0 + 0.01 * n_nets, 1, 0, 0.0, all_ext))
    jobs.append(Job("pairwise_all", "pairwise_all", 5.0 + 0.05 * len(tables), 1, 0, 0.0, tuple(tables)))
    summaries = []
    for exp in sorted(study.experiments):
        cids = study.experiments[exp]
        deps = tuple(e for c in cids for e in nets_of[c]) + tuple(t for t in tables if t.split()[-1] in cids)
        jobs.append(Job(f"summary {exp}", "summary", 30.0, 1, 0, 0.0, deps))
        summaries.append(f"summary {exp}")
    grids = tuple(f"dsa_grid {cid}" for cid in study.conditions)
    jobs.append(Job("effects", "effects", 60.0, 1, 0, 0.0, ("networks", "pairwise_all", *grids, *fixed)))
    if figures:
        for name in study.figures:
            deps = ("effects",) if name == "effects" else tuple(summaries) + tuple(joint)
            jobs.append(Job(f"figure {name}", "figure", 30.0, 1, 0, 0.0, deps))
    return jobs


def over_requests(jobs: Sequence[Job], resources: Mapping[str, Mapping[str, int]]) -> list[str]:
    """One line per job projected above its rule's ``runtime`` (minutes) or ``mem_mb`` request."""
    out = []
    for j in jobs:
        req = resources.get(j.rule, {})
        rt, mem = req.get("runtime"), req.get("mem_mb")
        if rt and j.seconds > 60 * rt:
            out.append(f"{j.name}: {_duration(j.seconds)} > runtime {rt} min")
        if mem and j.mem_mb > mem:
            out.append(f"{j.name}: {j.mem_mb:.0f} MB > mem_mb {mem}")
    return out


def cluster_report(
    jobs: Sequence[Job], cores: int, gpus: int, resources: Mapping[str, Mapping[str, int]], source: str
) -> str:
    """Markdown: core-hours per rule, the makespan of a list schedule on ``cores`` cores and
    ``gpus`` GPUs, the critical path and every job over its rule's requests."""
    sched = list_schedule(jobs, cores, gpus)
    by_rule: dict[str, list[Job]] = {}
    for j in jobs:
        by_rule.setdefault(j.rule, []).append(j)
    lines = [
        f"## Wall time on {cores} cores and {gpus} GPU{'' if gpus == 1 else 's'}",
        "",
        f"Durations: {source}.",
        "",
        "| rule | jobs | core-hours | GPU-hours | longest job |",
        "|---|---:|---:|---:|---:|",
    ]
    total_c = total_g = 0.0

    def ran(j):  # (core-seconds, GPU-seconds) as scheduled
        secs = sched.finish[j.name] - sched.start[j.name]
        on_gpu = j.gpus or (j.gpu_seconds is not None and secs == j.gpu_seconds and secs != j.seconds)
        return (0.0, secs * max(j.gpus, 1)) if on_gpu else (secs * min(j.threads, cores), 0.0)

    for rule, js in sorted(by_rule.items(), key=lambda kv: -sum(ran(j)[0] for j in kv[1])):
        ch = sum(ran(j)[0] for j in js) / 3600
        gh = sum(ran(j)[1] for j in js) / 3600
        total_c, total_g = total_c + ch, total_g + gh
        longest = max(sched.finish[j.name] - sched.start[j.name] for j in js)
        lines.append(f"| {rule} | {len(js)} | {ch:.3g} | {gh:.3g} | {_duration(longest)} |")
    lines.append(f"| total | {len(jobs)} | {total_c:.3g} | {total_g:.3g} | |")
    lines += [
        "",
        f"Makespan (list schedule, longest remaining chain first): **{_duration(sched.makespan)}** "
        f"(core-hours / {cores} cores = {_duration(total_c * 3600 / cores)}; "
        f"critical path {_duration(sched.critical_s)}).",
        "",
        f"Critical path ({len(sched.critical_path)} jobs, {_duration(sched.critical_s)}):",
        "",
    ]
    by = {j.name: j for j in jobs}
    lines += [f"1. {n} ({_duration(by[n].fastest)})" for n in sched.critical_path]
    over = over_requests(jobs, resources)
    lines += ["", f"Jobs projected above their rule's runtime or memory request: {len(over)}", ""]
    lines += [f"- {o}" for o in over[:40]]
    if len(over) > 40:
        lines.append(f"- ... and {len(over) - 40} more")
    return "\n".join(lines) + "\n"


def pilot_cost(
    full_study, proj: Projection, costs: Mapping[str, StageCost], resources: Mapping[str, Mapping[str, int]]
):
    """A ``cost(cond, rule, units)`` for :func:`study_jobs` from a pilot's projection: training and
    extraction per network, dsa_fit, pairwise_dsa and pairwise_weights per network or pair from
    the pilot (the same numbers as the core-hours table); every other rule from
    :func:`measured_costs`."""
    pc = proj.per_condition.set_index("condition")

    def cost(cond, rule, units=1):
        sec, mb = measured_costs(cond, rule, units)
        th = resources.get(rule, {}).get("threads", 1)
        if rule in ("train", "extract") and cond.id in pc.index:
            per = float(pc.loc[cond.id, rule]) / max(int(pc.loc[cond.id, "networks"]), 1) / th
            return (per if math.isfinite(per) else sec), mb
        if rule in UNIT_STAGES and rule in costs:
            per, _ = _lookup(costs[rule].per_unit_s, cond.id, full_study.conditions, rule)
            if math.isfinite(per):
                return costs[rule].startup_s + per * units, mb
        return sec, mb

    return cost
