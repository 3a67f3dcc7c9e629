"""The DSA fit stage: from the trajectories of a condition's networks, their DSA operators and
noise floors (one job per condition). Split from extraction so that a change of a DSA setting or
of the DSA code never re-runs the trajectory extraction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .extract import _float, read_trajectories

__all__ = ["OPERATOR_COLUMNS", "NULL_COLUMNS", "dsa_fit", "read_operators", "operators_from_long", "probe2_paths"]


def probe2_paths(trajectory_paths: Sequence[str | Path]) -> list[Path]:
    """The ``trajectories_probe2.parquet`` that extraction writes next to each
    ``trajectories.parquet`` (the second probe batch of the DSA null)."""
    return [Path(p).with_name("trajectories_probe2.parquet") for p in trajectory_paths]


def read_operators(path: str | Path) -> dict[int, np.ndarray]:
    """operators.parquet -> {seed: r x r operator A} (converged networks only)."""
    from degeneracy.io import read_parquet

    return operators_from_long(read_parquet(path))


def operators_from_long(df: pd.DataFrame) -> dict[int, np.ndarray]:
    """{seed: r x r operator A} from a long table's ``matrix == "A"`` rows (seed, i, j, value),
    in seed order (``operators.parquet``, one setting of a DSA-grid fit block)."""
    out = {}
    for seed, g in df[df["matrix"] == "A"].groupby("seed", sort=True):
        A = np.zeros((int(g["i"].max()) + 1, int(g["j"].max()) + 1))
        A[g["i"].to_numpy(), g["j"].to_numpy()] = g["value"].to_numpy()
        out[int(seed)] = A
    return out


OPERATOR_COLUMNS = {"seed": "int64", "matrix": "string", "i": "int32", "j": "int32", "value": "float64"}
NULL_COLUMNS = {"condition": "string", "seed": "int64", "value": "float64"}


def dsa_fit(
    condition: str,
    network_paths: Sequence[str | Path],
    trajectory_paths: Sequence[str | Path],
    dsa: Mapping[str, Any],
    out_operators: str | Path,
    out_null: str | Path,
    threads: int = 1,
    trajectory_probe2_paths: Sequence[str | Path] | None = None,
) -> None:
    """Fit the DSA operator and the noise floor of every converged network of a condition.

    One job per condition (fitting is cheap next to the pairwise distances, and one job per
    network would add thousands of jobs to the DAG). ``operators.parquet``: long table
    (seed, matrix "A" | "singular_values", i, j, value); ``null.parquet``: one row per converged
    network (condition, seed, value = DSA distance between its operators fitted on the probe and on
    the second, independent probe batch of the same size: ``trajectory_probe2_paths``, one per
    network; None: the ``trajectories_probe2.parquet`` next to each trajectories file).
    """
    import torch

    from degeneracy.io import atomic_write_parquet, read_parquet
    from degeneracy.metrics import dsa as dsa_mod

    torch.set_num_threads(int(threads))
    kw = dict(
        n_delays=int(dsa["n_delays"]),
        delay_interval=int(dsa["delay_interval"]),
        rank=int(dsa["rank"]),
        ridge=float(dsa["ridge"]),
    )
    if trajectory_probe2_paths is None:
        trajectory_probe2_paths = probe2_paths(trajectory_paths)
    if len(trajectory_probe2_paths) != len(trajectory_paths):
        raise ValueError(
            f"dsa_fit of {condition}: {len(trajectory_paths)} trajectory files but "
            f"{len(trajectory_probe2_paths)} second-probe files"
        )
    frames, nulls = [], []
    for net_path, traj_path, traj2_path in zip(network_paths, trajectory_paths, trajectory_probe2_paths):
        row = read_parquet(net_path).iloc[0]
        if not bool(row["converged"]):
            continue
        seed = int(row["seed"])
        traj = read_trajectories(traj_path)
        traj2 = read_trajectories(traj2_path)
        if traj.shape != traj2.shape:
            raise ValueError(
                f"dsa_fit of {condition}, seed {seed}: the two probe batches differ in shape "
                f"({tuple(traj.shape)} in {traj_path}, {tuple(traj2.shape)} in {traj2_path}); "
                f"re-run the extraction of this network"
            )
        fit = dsa_mod.fit_operator(traj, **kw)
        # the null reuses this fit (one Hankel fit per probe batch, not three)
        fit2 = dsa_mod.fit_operator(traj2, **kw)
        A = np.asarray(fit.A, dtype=np.float64)
        ii, jj = np.meshgrid(np.arange(A.shape[0]), np.arange(A.shape[1]), indexing="ij")
        frames.append(pd.DataFrame({"seed": seed, "matrix": "A", "i": ii.ravel(), "j": jj.ravel(), "value": A.ravel()}))
        sv = np.asarray(fit.singular_values, dtype=np.float64).ravel()
        frames.append(
            pd.DataFrame({"seed": seed, "matrix": "singular_values", "i": np.arange(sv.size), "j": 0, "value": sv})
        )
        D = dsa_mod.pairwise_distances(
            [fit, fit2], mode=str(dsa.get("mode", "euclidean")), seed=int(dsa.get("seed", 0)) + seed
        )
        null = _float(D[0, 1])
        nulls.append({"condition": condition, "seed": seed, "value": null})
    ops = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({c: [] for c in OPERATOR_COLUMNS})
    atomic_write_parquet(ops.astype(OPERATOR_COLUMNS), out_operators)
    nul = pd.DataFrame(nulls, columns=list(NULL_COLUMNS))
    atomic_write_parquet(nul.astype(NULL_COLUMNS), out_null)
