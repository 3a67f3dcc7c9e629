"""Aggregation and figure stages: concatenate per-network / per-condition files, summarise,
compute the effects table and draw figures."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from .extract import NETWORK_COLUMNS
from .pairwise import PAIRWISE_COLUMNS

__all__ = [
    "META_COLUMNS",
    "LOG_COLUMNS",
    "meta_table",
    "concat",
    "write_meta",
    "write_concat",
    "aggregate_settings",
    "attach_fixed_points",
    "summary",
    "effects",
    "figure",
]

META_COLUMNS = {
    "experiment": "string",
    "factor": "string",
    "task": "string",
    "level": "float64",
    "condition": "string",
}
LOG_COLUMNS = {
    "condition": "string",
    "seed": "int64",
    "epoch": "int64",
    "steps": "int64",
    "loss": "float64",
    "lr": "float64",
    "elapsed_s": "float64",
}
SCHEMAS = {"meta": META_COLUMNS, "networks": NETWORK_COLUMNS, "pairwise": PAIRWISE_COLUMNS, "logs": LOG_COLUMNS}


def meta_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    df = pd.DataFrame(list(rows), columns=list(META_COLUMNS))
    return df.astype(META_COLUMNS)


def concat(paths: Sequence[str | Path], kind: str) -> pd.DataFrame:
    """Read and concatenate Parquet files, cast to the documented schema of ``kind``."""
    from degeneracy.io import read_parquet

    schema = SCHEMAS[kind]
    frames = [read_parquet(p) for p in paths]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in schema.items()})
    df = pd.concat(frames, ignore_index=True)
    return df[list(schema)].astype(schema)


def read_logs(log_paths: Sequence[str | Path], jobs: Sequence[tuple[str, int]]) -> pd.DataFrame:
    """Per-epoch training logs with condition and seed columns added."""
    from degeneracy.io import read_parquet

    frames = []
    for path, (cond, seed) in zip(log_paths, jobs):
        df = read_parquet(path).copy()
        df.insert(0, "seed", int(seed))
        df.insert(0, "condition", cond)
        frames.append(df)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in LOG_COLUMNS.items()})
    df = pd.concat(frames, ignore_index=True)
    return df[list(LOG_COLUMNS)].astype(LOG_COLUMNS)


def write_meta(rows: Sequence[Mapping[str, Any]], out: str | Path) -> None:
    from degeneracy.io import atomic_write_parquet

    atomic_write_parquet(meta_table(rows), out)


def write_concat(paths: Sequence[str | Path], kind: str, out: str | Path) -> None:
    from degeneracy.io import atomic_write_parquet

    atomic_write_parquet(concat(paths, kind), out)


def aggregate_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``aggregate`` config section with every default filled in
    (:data:`degeneracy.stats.DEFAULT_SETTINGS`: n_boot, seed, ci, min_levels, min_networks, alpha,
    correction); unknown keys are ignored here (the config schema rejects them)."""
    from degeneracy.stats import DEFAULT_SETTINGS

    out = dict(DEFAULT_SETTINGS)
    out.update({k: v for k, v in dict(settings or {}).items() if k in DEFAULT_SETTINGS})
    return out


def attach_fixed_points(networks: pd.DataFrame, fixed_point_paths: Sequence[str | Path]) -> pd.DataFrame:
    """``networks`` with the per-network fixed-point columns (n_fixed_points, n_stable, n_saddle,
    n_line_attractor_like, frac_line_attractor_like) joined on (condition, seed) from the
    one-row files of :func:`degeneracy.metrics.fixed_points.fixed_points_from_checkpoint`;
    networks without a file get NaN. Returns ``networks`` unchanged when there are no files."""
    from degeneracy.io import read_parquet

    paths = [fixed_point_paths] if isinstance(fixed_point_paths, (str, Path)) else list(fixed_point_paths)
    frames = [read_parquet(p) for p in paths]
    frames = [f for f in frames if len(f)]
    if not frames:
        return networks
    from degeneracy.metrics.fixed_points import (
        SUMMARY_COLUMNS as FP_COLUMNS,  # imports torch: only when needed
    )

    fp = pd.concat(frames, ignore_index=True)
    cols = [c for c in FP_COLUMNS if c in fp.columns]
    fp = fp[["condition", "seed", *cols]].astype({"condition": "string", "seed": "int64"})
    fp = fp.drop_duplicates(["condition", "seed"], keep="last")
    fp[cols] = fp[cols].astype("float64")  # NaN where a network has no file
    out = networks.drop(columns=[c for c in cols if c in networks.columns])
    out = out.astype({"condition": "string", "seed": "int64"}).merge(fp, on=["condition", "seed"], how="left")
    return out


def summary(
    meta_rows: Sequence[Mapping[str, Any]],
    network_paths: Sequence[str | Path],
    pairwise_paths: Sequence[str | Path],
    settings: Mapping[str, Any] | None,
    out: str | Path,
    fixed_point_paths: Sequence[str | Path] = (),
) -> pd.DataFrame:
    """Per-condition summary of one experiment (degeneracy.aggregate.summarise), written to ``out``.

    ``settings``: the ``aggregate`` config section (n_boot, seed, min_networks are used).
    ``fixed_point_paths``: the experiment's per-network fixed-point files, if any
    (:func:`attach_fixed_points`; they fill the ``n_line_attractor_like_*`` columns).
    """
    from degeneracy.aggregate import summarise
    from degeneracy.io import atomic_write_parquet

    s = aggregate_settings(settings)
    nets = attach_fixed_points(concat(network_paths, "networks"), fixed_point_paths)
    df = summarise(
        meta_table(meta_rows),
        nets,
        concat(pairwise_paths, "pairwise"),
        n_boot=int(s["n_boot"]),
        seed=int(s["seed"]),
        min_networks=int(s["min_networks"]),
    )
    atomic_write_parquet(df, out)
    return df


def effects(
    meta_path: str | Path,
    networks_path: str | Path,
    pairwise_path: str | Path,
    settings: Mapping[str, Any] | None,
    out_parquet: str | Path,
    out_markdown: str | Path,
    dsa_grid_paths: Sequence[str | Path] = (),
    fixed_point_paths: Sequence[str | Path] = (),
) -> pd.DataFrame:
    """The effects table (degeneracy.stats.effects_table) as Parquet and Markdown.

    ``fixed_point_paths``: per-network fixed-point files (:func:`attach_fixed_points`); an
    experiment whose networks have them gets a ``fixed_points`` cell.

    ``settings``: the ``aggregate`` config section (see :func:`aggregate_settings`).
    ``dsa_grid_paths``: the per-condition tables of :mod:`degeneracy.pipeline.dsa_grid`, if any
    (concatenated; they fill the ``robust`` column). Returns the table.
    """
    from degeneracy.io import atomic_write_parquet, atomic_write_text, read_parquet
    from degeneracy.stats import effects_markdown, effects_table

    s = aggregate_settings(settings)
    grids = [read_parquet(p) for p in dsa_grid_paths]
    grids = [g for g in grids if len(g)]
    df = effects_table(
        read_parquet(meta_path),
        attach_fixed_points(read_parquet(networks_path), fixed_point_paths),
        read_parquet(pairwise_path),
        n_boot=int(s["n_boot"]),
        seed=int(s["seed"]),
        ci=float(s["ci"]),
        min_levels=int(s["min_levels"]),
        min_networks=int(s["min_networks"]),
        alpha=float(s["alpha"]),
        correction=str(s["correction"]),
        dsa_grid=pd.concat(grids, ignore_index=True) if grids else None,
    )
    atomic_write_parquet(df, out_parquet)
    md = effects_markdown(df)
    atomic_write_text(md if md.endswith("\n") else md + "\n", out_markdown)
    return df


def _apply_settings(fn, settings: Mapping[str, Any]) -> dict:
    """rcParams from ``settings["rc"]``; ``settings["kwargs"]`` passed if the function takes them."""
    import matplotlib

    matplotlib.rcParams.update(dict(settings.get("rc", {})))
    kwargs = dict(settings.get("kwargs", {}))
    params = inspect.signature(fn).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            raise ValueError(f"figure function {fn.__name__} takes no argument(s) {unknown}")
    return kwargs


def figure(
    name: str,
    settings: Mapping[str, Any],
    out_png: str | Path,
    out_pdf: str | Path,
    summaries: Sequence[str | Path] = (),
    pairwise_paths: Sequence[str | Path] = (),
    meta_rows: Sequence[Mapping[str, Any]] = (),
    effects_path: str | Path | None = None,
    log_paths: Sequence[str | Path] = (),
    log_jobs: Sequence[tuple[str, int]] = (),
    trial_path: str | Path | None = None,
    joint_paths: Sequence[str | Path] = (),
    spread_paths: Sequence[str | Path] = (),
    networks_paths: Sequence[str | Path] = (),
) -> None:
    """Draw figure ``name`` (a key of degeneracy.figures.FIGURES) to PNG and PDF; fig3 draws its
    panel A in the joint DSA space when ``joint_paths`` (with ``spread_paths``) are given.
    ``networks_paths``: the example-trial networks' rows of the networks table (their
    convergence: the figure shows converged networks only, where a condition has one)."""
    import matplotlib

    matplotlib.use("Agg")
    from degeneracy.figures import FIGURES
    from degeneracy.io import read_parquet

    key = name if name in FIGURES else f"fig_{name}"
    fn = FIGURES[key]
    kwargs = _apply_settings(fn, settings)
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    if name == "effects":
        fn(read_parquet(effects_path), out_png, out_pdf, **kwargs)
    elif name == "training_curves":
        fn(read_logs(log_paths, log_jobs), out_png, out_pdf, **kwargs)
    elif name == "example_trial":
        paths = [trial_path] if isinstance(trial_path, (str, Path)) else list(trial_path)
        nets_paths = [networks_paths] if isinstance(networks_paths, (str, Path)) else list(networks_paths)
        networks = concat(nets_paths, "networks") if nets_paths else None
        trial = pd.concat([read_parquet(p) for p in paths], ignore_index=True)
        fn(trial, out_png, out_pdf, networks=networks, **kwargs)
    else:
        summ = pd.concat([read_parquet(p) for p in summaries], ignore_index=True)
        if name == "fig3":
            joint = pd.concat([read_parquet(p) for p in joint_paths], ignore_index=True) if joint_paths else None
            spread = pd.concat([read_parquet(p) for p in spread_paths], ignore_index=True) if spread_paths else None
            fn(
                summ,
                concat(pairwise_paths, "pairwise"),
                meta_table(meta_rows),
                out_png,
                out_pdf,
                joint=joint,
                spread=spread,
                **kwargs,
            )
        else:
            fn(summ, out_png, out_pdf, **kwargs)
