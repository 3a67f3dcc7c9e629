"""Per-network extraction stages.

* :func:`trajectories` -- from a checkpoint: hidden states on the condition's fixed probe batch,
  held-out and OOD MSE, convergence, recurrent weights (final and initial) and feature-learning
  metrics (one row of the networks table).
* :func:`dsa_fit` -- from the trajectories of a condition's networks: their DSA operators and
  noise floors (one job per condition).
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

from degeneracy.conditions import TASK_ANALYSIS_DEFAULTS

__all__ = [
    "NETWORK_COLUMNS",
    "DEFAULT_EVAL",
    "trajectories",
    "PROBE2_SEED_OFFSET",
    "probe2",
    "example_trial",
    "read_trajectories",
    "read_weights",
    "WEIGHT_COLUMNS",
    "weights_table",
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
    "kernel_alignment_centred": "float64",
    "kernel_alignment_probe_sd": "float64",
    "kernel_alignment_centred_probe_sd": "float64",
    "n_units": "int64",
    "eval_mse": "float64",
    "eval_mse_se": "float64",
    "eval_mse_aux": "float64",
    "ood_mse_aux": "float64",
    "threshold": "float64",
}

#: Kernel-alignment settings (the config's default; keys missing from a study's settings take these).
FEATURE_LEARNING_DEFAULTS: dict[str, int] = dict(TASK_ANALYSIS_DEFAULTS["feature_learning"])

#: Held-out in-distribution batch used when the analysis settings give none (the config's default).
DEFAULT_EVAL: dict[str, int] = dict(TASK_ANALYSIS_DEFAULTS["eval"])


#: The second, independent probe batch (``trajectories_probe2.parquet``; the DSA null, see
#: docs/metrics.md) has the first probe's ``n_trials`` and seed ``probe.seed + PROBE2_SEED_OFFSET``:
#: fixed per task, so it is shared by every seed of a condition.
PROBE2_SEED_OFFSET = 1_000_003


def probe2(probe: Mapping[str, Any]) -> dict[str, int]:
    """Settings (``n_trials``, ``seed``) of the second probe batch: same size, seed shifted by
    :data:`PROBE2_SEED_OFFSET`."""
    return {"n_trials": int(probe["n_trials"]), "seed": int(probe["seed"]) + PROBE2_SEED_OFFSET}


def _trajectory_table(h: np.ndarray) -> pd.DataFrame:
    """(trials, time, units) hidden states -> long table (trial, time, h0 .. h{n-1})."""
    n_trials, n_time, n_units = h.shape
    traj = pd.DataFrame(h.reshape(n_trials * n_time, n_units), columns=[f"h{i}" for i in range(n_units)])
    traj.insert(0, "time", np.tile(np.arange(n_time, dtype=np.int32), n_trials))
    traj.insert(0, "trial", np.repeat(np.arange(n_trials, dtype=np.int32), n_time))
    return traj


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
    evaluation: Mapping[str, Any] | None = None,
    out_trajectories_probe2: str | Path | None = None,
) -> pd.DataFrame:
    """Extract everything the metrics need from one checkpoint; returns the network row.

    ``out_trajectories``: hidden states on the condition's probe batch; ``out_trajectories_probe2``
    (if given): the same on an independent probe batch of the same size (:func:`probe2`), the
    second sample the DSA null compares the first with.

    ``evaluation`` (``n_trials``, ``seed``; default :data:`DEFAULT_EVAL`) is the held-out
    in-distribution batch, the same for every network of a task: ``eval_mse`` is the masked MSE
    on it over the outputs every level shares (see :func:`degeneracy.metrics.behavior.output_groups`),
    ``eval_mse_se`` its standard error over the batch's trials (the precision of the convergence
    test), ``eval_mse_aux`` that of the auxiliary outputs (NaN when absent); likewise ``ood_mse`` and
    ``ood_mse_aux`` on the OOD batch. ``converged`` is ``status != "diverged"`` and
    ``eval_mse < threshold`` (the checkpoint's ``training.threshold``); ``status`` is kept as
    training reported it.
    """
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
    traj = _trajectory_table(h)
    traj2 = None
    if out_trajectories_probe2 is not None:
        p2 = probe2(probe)
        x2, _, _ = task.sample(p2["n_trials"], _generator(p2["seed"]), ood=False)
        with torch.no_grad():
            _, h2 = model.forward(x2)
        traj2 = _trajectory_table(_to_numpy(h2).astype(np.float32))

    model0 = model_from_checkpoint(ckpt, which="init")
    W = _to_numpy(model.recurrent_matrix()).astype(np.float64)
    W_init = _to_numpy(model0.recurrent_matrix()).astype(np.float64)
    weights = weights_table(W, W_init)

    evaluation = dict(DEFAULT_EVAL) if evaluation is None else evaluation
    threshold = _float(cfg["training"]["threshold"])
    groups = behavior.output_groups(task)
    ood_mse = ood_aux = eval_mse = eval_se = eval_aux = wc = wc_rel = ka = ka_c = ka_sd = ka_c_sd = math.nan
    if healthy:
        xe, ye, me = task.sample(int(evaluation["n_trials"]), _generator(evaluation["seed"]), ood=False)
        ev = behavior.grouped_mse(model, xe, ye, me, groups)
        eval_mse, eval_se, eval_aux = _float(ev["main"]), _float(ev["main_se"]), _float(ev["aux"])
        xo, yo, mo = task.sample(int(ood["n_trials"]), _generator(ood["seed"]), ood=True)
        oo = behavior.grouped_mse(model, xo, yo, mo, groups)
        ood_mse, ood_aux = _float(oo["main"]), _float(oo["aux"])

        W0 = model0.recurrent_matrix().detach()
        change = fl.weight_change(W0, model.recurrent_matrix().detach())
        wc, wc_rel = _float(change["abs"]), _float(change["rel"])
        fl_set = {**FEATURE_LEARNING_DEFAULTS, **dict(feature_learning)}
        n_k = int(fl_set["n_trials"])
        if n_k <= x.shape[0]:  # the probe's first n_k trials (the probe holds at least as many)
            xk = x[:n_k]
        else:  # a larger kernel probe: its own batch from the probe seed
            xk, _, _ = task.sample(n_k, _generator(probe["seed"]), ood=False)
        res = fl.probe_kernel_alignment(
            model0,
            model,
            xk,
            n_time_points=int(fl_set["n_time_points"]),
            max_outputs=int(fl_set["max_outputs"]),
            n_subsets=int(fl_set["n_subsets"]),
            sign_flip=bool(getattr(task, "sign_symmetric", False)),
        )
        ka = _float(res["kernel_alignment"])
        ka_c = _float(res["kernel_alignment_centred"])
        ka_sd = _float(res["kernel_alignment_probe_sd"])
        ka_c_sd = _float(res["kernel_alignment_centred_probe_sd"])

    row = pd.DataFrame(
        [
            {
                "condition": condition,
                "seed": int(seed),
                "status": status,
                "converged": bool(healthy and math.isfinite(eval_mse) and eval_mse < threshold),
                "epochs": int(ckpt["epochs"]),
                "steps": int(ckpt["steps"]),
                "final_loss": _float(ckpt["final_loss"]),
                "ood_mse": ood_mse,
                "weight_change": wc,
                "weight_change_rel": wc_rel,
                "kernel_alignment": ka,
                "kernel_alignment_centred": ka_c,
                "kernel_alignment_probe_sd": ka_sd,
                "kernel_alignment_centred_probe_sd": ka_c_sd,
                "n_units": int(n_units),
                "eval_mse": eval_mse,
                "eval_mse_se": eval_se,
                "eval_mse_aux": eval_aux,
                "ood_mse_aux": ood_aux,
                "threshold": threshold,
            }
        ]
    ).astype(NETWORK_COLUMNS)
    atomic_write_parquet(traj, out_trajectories)
    if traj2 is not None:
        atomic_write_parquet(traj2, out_trajectories_probe2)
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


#: Columns (and dtypes) of weights.parquet: one row per recurrent weight, final and initial value.
WEIGHT_COLUMNS: dict[str, str] = {"i": "int32", "j": "int32", "value": "float64", "value_init": "float64"}


def weights_table(W: np.ndarray, W_init: np.ndarray) -> pd.DataFrame:
    """Long table of a recurrent matrix: (i, j, value = trained W[i, j], value_init = initial W[i, j]).

    Both matrices are in the model's own weight units (the effective recurrent matrix, see
    ``model.recurrent_matrix()``); ``W_init`` must have the shape of ``W``.
    """
    W = np.asarray(W, dtype=np.float64)
    W_init = np.asarray(W_init, dtype=np.float64)
    if W.shape != W_init.shape or W.ndim != 2:
        raise ValueError(f"final and initial recurrent matrices differ in shape: {W.shape} vs {W_init.shape}")
    ii, jj = np.meshgrid(np.arange(W.shape[0], dtype=np.int32), np.arange(W.shape[1], dtype=np.int32), indexing="ij")
    df = pd.DataFrame({"i": ii.ravel(), "j": jj.ravel(), "value": W.ravel(), "value_init": W_init.ravel()})
    return df.astype(WEIGHT_COLUMNS)


def read_weights(path: str | Path, which: str = "final") -> np.ndarray:
    """weights.parquet -> (n, n) float64 recurrent matrix: ``which="final"`` (trained, column
    ``value``) or ``"init"`` (the same network at initialisation, column ``value_init``)."""
    from degeneracy.io import read_parquet

    column = {"final": "value", "init": "value_init"}.get(which)
    if column is None:
        raise ValueError(f"which={which!r} is invalid; choose 'final' or 'init'")
    df = read_parquet(path)
    if column not in df.columns:
        raise ValueError(f"{path}: no column {column!r} (written before initial weights were stored); rerun extraction")
    n = int(df["i"].max()) + 1
    W = np.full((n, int(df["j"].max()) + 1), np.nan)
    W[df["i"].to_numpy(), df["j"].to_numpy()] = df[column].to_numpy()
    return W


def example_trial(
    checkpoint: str | Path,
    condition: str,
    probe: Mapping[str, Any],
    out: str | Path,
    trial: int = 0,
    threads: int = 1,
) -> None:
    """One probe trial: long table (condition, seed, time, channel, kind input|target|output, value,
    mask). ``mask`` is the loss weight of that time step and output channel (1 where the task scores
    the output, e.g. delayed discrimination's response window) on target and output rows, NaN on
    input rows."""
    import torch

    from degeneracy.io import atomic_write_parquet, load_checkpoint
    from degeneracy.models import model_from_checkpoint

    torch.set_num_threads(int(threads))
    ckpt = load_checkpoint(checkpoint)
    task = _task_from_config(ckpt["config"])
    model = model_from_checkpoint(ckpt, which="final")
    model.eval()
    x, y, mask = task.sample(int(probe["n_trials"]), _generator(probe["seed"]), ood=False)
    with torch.no_grad():
        out_y, _ = model.forward(x)
    m = _to_numpy(mask[trial].expand_as(y[trial])).astype(np.float64)
    frames = []
    for kind, arr in (("input", x), ("target", y), ("output", out_y)):
        a = _to_numpy(arr[trial]).astype(np.float64)  # (time, channels)
        t, c = np.meshgrid(np.arange(a.shape[0]), np.arange(a.shape[1]), indexing="ij")
        weight = np.full(a.size, np.nan) if kind == "input" else m.ravel()
        frames.append(
            pd.DataFrame(
                {
                    "condition": condition,
                    "seed": int(ckpt["seed"]),
                    "time": t.ravel(),
                    "channel": c.ravel(),
                    "kind": kind,
                    "value": a.ravel(),
                    "mask": weight,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True).astype(
        {
            "condition": "string",
            "seed": "int64",
            "time": "int64",
            "channel": "int64",
            "kind": "string",
            "value": "float64",
            "mask": "float64",
        }
    )
    atomic_write_parquet(df, out)


# The DSA fit stage lives in degeneracy.pipeline.dsa_fit (so that extraction does not depend on
# the DSA code); its names stay reachable from here without an import statement, loaded on use.
_MOVED = {"dsa_fit", "read_operators", "OPERATOR_COLUMNS", "NULL_COLUMNS"}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(".dsa_fit", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
