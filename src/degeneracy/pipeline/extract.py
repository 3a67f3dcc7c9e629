"""Per-network extraction stages.

* :func:`trajectories` -- from a checkpoint: hidden states on the condition's fixed probe batch,
  OOD MSE, recurrent weights and feature-learning metrics (one row of the networks table).
* :func:`dsa_fit` -- from the trajectories: the DSA operator of one network and its noise floor.
* :func:`example_trial` -- one probe trial's inputs, targets and outputs (for the figure).

Splitting trajectories from the DSA fit means a change of a DSA setting re-runs only the cheap
fit, never the trajectory extraction.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

__all__ = [
    "NETWORK_COLUMNS",
    "trajectories",
    "dsa_fit",
    "example_trial",
    "read_trajectories",
    "read_weights",
    "read_operator",
]

#: Columns (and dtypes) of one row of the networks table.
NETWORK_COLUMNS: dict[str, str] = {
    "condition": "string",
    "seed": "int64",
    "status": "string",
    "converged": "bool",
    "epochs": "int64",
    "steps": "int64",
    "final_loss": "float64",
    "ood_mse": "float64",
    "weight_change": "float64",
    "weight_change_rel": "float64",
    "kernel_alignment": "float64",
    "n_units": "int64",
}


def _generator(seed: int):
    import torch

    g = torch.Generator()
    g.manual_seed(int(seed))
    return g


def _task_from_config(cfg: Mapping[str, Any]):
    from degeneracy.tasks import make_task

    knobs = {k: v for k, v in cfg["task"].items() if k != "name"}
    return make_task(cfg["task"]["name"], **knobs)


def _to_numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def _float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def trajectories(
    checkpoint: str | Path,
    condition: str,
    seed: int,
    probe: Mapping[str, Any],
    ood: Mapping[str, Any],
    feature_learning: Mapping[str, Any],
    out_network: str | Path,
    out_trajectories: str | Path,
    out_weights: str | Path,
    threads: int = 1,
) -> pd.DataFrame:
    """Extract everything the metrics need from one checkpoint; returns the network row."""
    import torch

    from degeneracy.io import atomic_write_parquet, load_checkpoint
    from degeneracy.metrics import behavior, feature_learning as fl
    from degeneracy.models import model_from_checkpoint

    torch.set_num_threads(int(threads))
    ckpt = load_checkpoint(checkpoint)
    cfg = ckpt["config"]
    task = _task_from_config(cfg)
    model = model_from_checkpoint(ckpt, which="final")
    model.eval()
    status = str(ckpt["status"])
    healthy = status != "diverged"

    # probe batch: identical inputs for every seed of the condition
    x, _, _ = task.sample(int(probe["n_trials"]), _generator(probe["seed"]), ood=False)
    with torch.no_grad():
        _, h = model.forward(x)
    h = _to_numpy(h).astype(np.float32)
    n_trials, n_time, n_units = h.shape
    traj = pd.DataFrame(h.reshape(n_trials * n_time, n_units), columns=[f"h{i}" for i in range(n_units)])
    traj.insert(0, "time", np.tile(np.arange(n_time, dtype=np.int32), n_trials))
    traj.insert(0, "trial", np.repeat(np.arange(n_trials, dtype=np.int32), n_time))

    W = _to_numpy(model.recurrent_matrix()).astype(np.float64)
    ii, jj = np.meshgrid(np.arange(W.shape[0], dtype=np.int32), np.arange(W.shape[1], dtype=np.int32), indexing="ij")
    weights = pd.DataFrame({"i": ii.ravel(), "j": jj.ravel(), "value": W.ravel()})

    ood_mse = wc = wc_rel = ka = math.nan
    if healthy:
        xo, yo, mo = task.sample(int(ood["n_trials"]), _generator(ood["seed"]), ood=True)
        with torch.no_grad():
            ood_mse = _float(behavior.ood_mse(model, xo, yo, mo))

        model0 = model_from_checkpoint(ckpt, which="init")
        W0 = model0.recurrent_matrix().detach()
        change = fl.weight_change(W0, model.recurrent_matrix().detach())
        wc, wc_rel = _float(change["abs"]), _float(change["rel"])
        xk = x[: int(feature_learning["n_trials"])]
        max_out = int(feature_learning["max_outputs"])
        K0 = fl.tangent_kernel(model0.output_fn_of_recurrent(xk), model0.recurrent_parameter(), max_out)
        KT = fl.tangent_kernel(model.output_fn_of_recurrent(xk), model.recurrent_parameter(), max_out)
        ka = _float(fl.kernel_alignment(K0, KT))

    row = pd.DataFrame(
        [
            {
                "condition": condition,
                "seed": int(seed),
                "status": status,
                "converged": status == "converged",
                "epochs": int(ckpt["epochs"]),
                "steps": int(ckpt["steps"]),
                "final_loss": _float(ckpt["final_loss"]),
                "ood_mse": ood_mse,
                "weight_change": wc,
                "weight_change_rel": wc_rel,
                "kernel_alignment": ka,
                "n_units": int(n_units),
            }
        ]
    ).astype(NETWORK_COLUMNS)
    atomic_write_parquet(traj, out_trajectories)
    atomic_write_parquet(weights, out_weights)
    atomic_write_parquet(row, out_network)
    return row


def read_trajectories(path: str | Path) -> np.ndarray:
    """trajectories.parquet -> float array (trials, time, units)."""
    from degeneracy.io import read_parquet

    df = read_parquet(path).sort_values(["trial", "time"])
    units = [c for c in df.columns if c.startswith("h")]
    units.sort(key=lambda c: int(c[1:]))
    n_trials = df["trial"].nunique()
    n_time = df["time"].nunique()
    return df[units].to_numpy(dtype=np.float64).reshape(n_trials, n_time, len(units))


def read_weights(path: str | Path) -> np.ndarray:
    """weights.parquet -> (n, n) float64 recurrent matrix."""
    from degeneracy.io import read_parquet

    df = read_parquet(path)
    n = int(df["i"].max()) + 1
    W = np.full((n, int(df["j"].max()) + 1), np.nan)
    W[df["i"].to_numpy(), df["j"].to_numpy()] = df["value"].to_numpy()
    return W


def read_operator(path: str | Path) -> np.ndarray | None:
    """dsa_operator.parquet -> the r x r operator A (None if the network was not fitted)."""
    from degeneracy.io import read_parquet

    df = read_parquet(path)
    a = df[df["matrix"] == "A"]
    if a.empty:
        return None
    r = int(a["i"].max()) + 1
    A = np.zeros((r, int(a["j"].max()) + 1))
    A[a["i"].to_numpy(), a["j"].to_numpy()] = a["value"].to_numpy()
    return A


def dsa_fit(
    trajectories_path: str | Path,
    network_path: str | Path,
    condition: str,
    seed: int,
    dsa: Mapping[str, Any],
    out_operator: str | Path,
    out_null: str | Path,
    threads: int = 1,
) -> None:
    """Fit the DSA operator of one network and its noise floor (only converged networks).

    ``dsa_operator.parquet``: long table (matrix "A" | "singular_values", i, j, value); empty
    for networks that did not converge. ``dsa_null.parquet``: one row (condition, seed, value).
    """
    import torch

    from degeneracy.io import atomic_write_parquet, read_parquet
    from degeneracy.metrics import dsa as dsa_mod

    torch.set_num_threads(int(threads))
    converged = bool(read_parquet(network_path)["converged"].iloc[0])
    frames = []
    null = math.nan
    if converged:
        traj = read_trajectories(trajectories_path)
        kw = dict(
            n_delays=int(dsa["n_delays"]),
            delay_interval=int(dsa["delay_interval"]),
            rank=int(dsa["rank"]),
            ridge=float(dsa["ridge"]),
        )
        fit = dsa_mod.fit_operator(traj, **kw)
        A = np.asarray(fit.A, dtype=np.float64)
        ii, jj = np.meshgrid(np.arange(A.shape[0]), np.arange(A.shape[1]), indexing="ij")
        frames.append(pd.DataFrame({"matrix": "A", "i": ii.ravel(), "j": jj.ravel(), "value": A.ravel()}))
        sv = np.asarray(fit.singular_values, dtype=np.float64).ravel()
        frames.append(pd.DataFrame({"matrix": "singular_values", "i": np.arange(sv.size), "j": 0, "value": sv}))
        null = _float(dsa_mod.dsa_null(traj, seed=int(dsa["seed"]) + int(seed), **kw))
    op = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({"matrix": [], "i": [], "j": [], "value": []})
    ).astype({"matrix": "string", "i": "int32", "j": "int32", "value": "float64"})
    atomic_write_parquet(op, out_operator)
    atomic_write_parquet(
        pd.DataFrame([{"condition": condition, "seed": int(seed), "value": null}]).astype(
            {"condition": "string", "seed": "int64", "value": "float64"}
        ),
        out_null,
    )


def example_trial(
    checkpoint: str | Path,
    condition: str,
    probe: Mapping[str, Any],
    out: str | Path,
    trial: int = 0,
    threads: int = 1,
) -> None:
    """One probe trial: long table (condition, time, channel, kind input|target|output, value)."""
    import torch

    from degeneracy.io import atomic_write_parquet, load_checkpoint
    from degeneracy.models import model_from_checkpoint

    torch.set_num_threads(int(threads))
    ckpt = load_checkpoint(checkpoint)
    task = _task_from_config(ckpt["config"])
    model = model_from_checkpoint(ckpt, which="final")
    model.eval()
    x, y, _ = task.sample(int(probe["n_trials"]), _generator(probe["seed"]), ood=False)
    with torch.no_grad():
        out_y, _ = model.forward(x)
    frames = []
    for kind, arr in (("input", x), ("target", y), ("output", out_y)):
        a = _to_numpy(arr[trial]).astype(np.float64)  # (time, channels)
        t, c = np.meshgrid(np.arange(a.shape[0]), np.arange(a.shape[1]), indexing="ij")
        frames.append(
            pd.DataFrame({"condition": condition, "time": t.ravel(), "channel": c.ravel(), "kind": kind, "value": a.ravel()})
        )
    df = pd.concat(frames, ignore_index=True).astype(
        {"condition": "string", "time": "int64", "channel": "int64", "kind": "string", "value": "float64"}
    )
    atomic_write_parquet(df, out)
