"""Per-network extraction: held-out evaluation, convergence from it, the shared outputs of the
auxiliary task, and the initial recurrent matrix stored beside the trained one.

The checkpoints are built by hand (no training): a muP network with a zero readout outputs exactly
0, so every error is a function of the targets alone and is computed here from the task's own batch.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from degeneracy.config import resolve_config
from degeneracy.models import build_model
from degeneracy.pipeline.extract import NETWORK_COLUMNS, read_weights, trajectories
from degeneracy.tasks import make_task

TASK = {"name": "delayed_discrimination", "n_channels": 1, "delay_min": 2, "delay_max": 4, "auxiliary": True}
PROBE = {"n_trials": 4, "seed": 1000}
OOD = {"n_trials": 16, "seed": 2000}
EVAL = {"n_trials": 32, "seed": 3000}
FL = {"n_trials": 2, "max_outputs": 16}


def _checkpoint(tmp_path, status="converged", threshold=None, task=TASK, perturb=True, seed=0):
    cfg = {"task": dict(task), "model": {"kind": "mup", "n_units": 6, "readout_init": "zero"}}
    if threshold is not None:
        cfg["training"] = {"threshold": threshold}
    cfg = resolve_config(cfg)
    t = make_task(task["name"], **{k: v for k, v in task.items() if k != "name"})
    model = build_model(cfg["model"], t.n_inputs, t.n_outputs, seed)
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    final = {k: v.detach().clone() for k, v in init.items()}
    if perturb:  # a "trained" J that differs from the initial one; the readout stays 0
        final["J"] = final["J"] + torch.arange(36, dtype=torch.float32).reshape(6, 6)
    ckpt = {
        "config": cfg,
        "seed": seed,
        "status": status,
        "init_state": init,
        "final_state": final,
        "n_inputs": t.n_inputs,
        "n_outputs": t.n_outputs,
        "epochs": 3,
        "steps": 30,
        "final_loss": 0.5,
        "threshold": cfg["training"]["threshold"],
        "versions": {},
    }
    path = tmp_path / f"seed{seed}_{status}.pt"
    torch.save(ckpt, path)
    return path, init, final


def _extract(tmp_path, path, evaluation=EVAL, seed=0, out_name="out"):
    out = tmp_path / out_name
    out.mkdir(exist_ok=True)
    row = trajectories(
        path,
        "c0",
        seed,
        PROBE,
        OOD,
        FL,
        out_network=out / "network.parquet",
        out_trajectories=out / "trajectories.parquet",
        out_weights=out / "weights.parquet",
        evaluation=evaluation,
        out_trajectories_probe2=out / "trajectories_probe2.parquet",
    )
    return row.iloc[0], out


def _zero_output_errors(task_knobs, batch, ood):
    """Masked MSE of a network that always outputs 0, for sign and auxiliary outputs separately."""
    t = make_task(task_knobs["name"], **{k: v for k, v in task_knobs.items() if k != "name"})
    x, y, m = t.sample(batch["n_trials"], torch.Generator().manual_seed(batch["seed"]), ood=ood)
    y, m = y.numpy().astype(np.float64), m.numpy().astype(np.float64)
    c = task_knobs["n_channels"]
    main = (m[..., :c] * y[..., :c] ** 2).sum() / m[..., :c].sum()
    aux = (m[..., c:] * y[..., c:] ** 2).sum() / m[..., c:].sum() if y.shape[-1] > c else math.nan
    return main, aux


def test_eval_and_ood_are_scored_on_the_shared_sign_outputs(tmp_path):
    path, _, _ = _checkpoint(tmp_path)
    row, _ = _extract(tmp_path, path)
    # a zero output against targets +-1 inside the response window: the sign MSE is exactly 1
    assert row["eval_mse"] == pytest.approx(1.0, abs=1e-6)
    assert row["ood_mse"] == pytest.approx(1.0, abs=1e-6)
    _, aux_eval = _zero_output_errors(TASK, EVAL, ood=False)
    _, aux_ood = _zero_output_errors(TASK, OOD, ood=True)
    assert row["eval_mse_aux"] == pytest.approx(aux_eval, rel=1e-5)
    assert row["ood_mse_aux"] == pytest.approx(aux_ood, rel=1e-5)
    # the auxiliary output's error ((f2 - f1)/8)^2 is smaller than 1, so mixing it in would have
    # lowered the reported error
    assert 0 < row["eval_mse_aux"] < 1.0
    assert list(row.index) == list(NETWORK_COLUMNS)


def test_without_auxiliary_the_aux_columns_are_nan(tmp_path):
    task = dict(TASK, auxiliary=False)
    path, _, _ = _checkpoint(tmp_path, task=task)
    row, _ = _extract(tmp_path, path)
    assert row["eval_mse"] == pytest.approx(1.0, abs=1e-6)
    assert math.isnan(row["eval_mse_aux"]) and math.isnan(row["ood_mse_aux"])


def test_converged_means_held_out_error_below_threshold(tmp_path):
    # training said "converged" (its loss crossed once) but the network's held-out error (1.0) is
    # above the threshold (delayed discrimination: 1e-2): not converged; status is kept as trained
    path, _, _ = _checkpoint(tmp_path, status="converged")
    row, _ = _extract(tmp_path, path)
    assert row["status"] == "converged"
    assert row["threshold"] == pytest.approx(1e-2)
    assert not row["converged"]
    # the same network with a threshold above its error is converged, whatever training said
    path, _, _ = _checkpoint(tmp_path, status="not_converged", threshold=1.5)
    row, _ = _extract(tmp_path, path)
    assert row["converged"] and row["status"] == "not_converged"
    # a diverged network never counts, and is not evaluated
    path, _, _ = _checkpoint(tmp_path, status="diverged", threshold=1.5)
    row, _ = _extract(tmp_path, path)
    assert not row["converged"] and math.isnan(row["eval_mse"]) and math.isnan(row["ood_mse"])


def test_eval_batch_is_fixed_by_its_seed(tmp_path):
    path, _, _ = _checkpoint(tmp_path)
    a, _ = _extract(tmp_path, path, {"n_trials": 32, "seed": 7})
    b, _ = _extract(tmp_path, path, {"n_trials": 32, "seed": 7})
    c, _ = _extract(tmp_path, path, {"n_trials": 32, "seed": 8})
    assert a["eval_mse_aux"] == b["eval_mse_aux"]
    assert a["eval_mse_aux"] != c["eval_mse_aux"]
    _, expected = _zero_output_errors(TASK, {"n_trials": 32, "seed": 8}, ood=False)
    assert c["eval_mse_aux"] == pytest.approx(expected, rel=1e-5)


def test_weights_store_final_and_initial_recurrent_matrix(tmp_path):
    path, init, final = _checkpoint(tmp_path)
    _, out = _extract(tmp_path, path)
    df = pd.read_parquet(out / "weights.parquet")
    assert list(df.columns) == ["i", "j", "value", "value_init"]
    n = 6  # muP: the effective recurrent matrix is J / N
    np.testing.assert_allclose(read_weights(out / "weights.parquet"), final["J"].numpy() / n, rtol=1e-6)
    np.testing.assert_allclose(read_weights(out / "weights.parquet", which="init"), init["J"].numpy() / n, rtol=1e-6)
    assert not np.allclose(read_weights(out / "weights.parquet", "init"), read_weights(out / "weights.parquet"))
    with pytest.raises(ValueError, match="which"):
        read_weights(out / "weights.parquet", which="trained")
    old = df.drop(columns="value_init")
    old.to_parquet(tmp_path / "old.parquet")
    with pytest.raises(ValueError, match="value_init"):
        read_weights(tmp_path / "old.parquet", which="init")


def test_example_trial_records_seed_and_the_loss_mask(tmp_path):
    from degeneracy.pipeline.extract import example_trial

    path, _, _ = _checkpoint(tmp_path, seed=4)
    example_trial(path, "c0", PROBE, tmp_path / "trial.parquet", trial=1)
    df = pd.read_parquet(tmp_path / "trial.parquet")
    assert set(df["kind"]) == {"input", "target", "output"} and (df["seed"] == 4).all()
    assert df.loc[df.kind == "input", "mask"].isna().all()
    # the mask is the task's own: 1 exactly in the response window of trial 1 (both outputs)
    t = make_task(TASK["name"], **{k: v for k, v in TASK.items() if k != "name"})
    _, y, m = t.sample(PROBE["n_trials"], torch.Generator().manual_seed(PROBE["seed"]))
    tgt = df[df.kind == "target"].sort_values(["time", "channel"])
    np.testing.assert_array_equal(tgt["mask"].to_numpy(), m[1].numpy().ravel())
    np.testing.assert_allclose(tgt["value"].to_numpy(), y[1].numpy().ravel(), rtol=1e-6)
    assert 0 < tgt["mask"].sum() < len(tgt)


def test_second_probe_batch_is_independent_same_size_and_shared_across_seeds(tmp_path):
    """trajectories_probe2.parquet: the same network on an independent probe batch of the same
    size (seed probe.seed + 1_000_003), identical for every network seed of a task."""
    from degeneracy.pipeline.extract import PROBE2_SEED_OFFSET, probe2, read_trajectories

    assert probe2(PROBE) == {"n_trials": PROBE["n_trials"], "seed": PROBE["seed"] + 1_000_003}
    assert PROBE2_SEED_OFFSET == 1_000_003
    outs = []
    for seed in (0, 1):
        path, _, _ = _checkpoint(tmp_path, seed=seed)
        outs.append(_extract(tmp_path, path, seed=seed, out_name=f"out{seed}")[1])
    h1 = read_trajectories(outs[0] / "trajectories.parquet")
    h2 = read_trajectories(outs[0] / "trajectories_probe2.parquet")
    assert h1.shape == h2.shape and not np.allclose(h1, h2)
    # the second file is the network run on the task's own batch at the shifted seed (for every
    # network seed: the inputs are shared across the seeds of a task)
    from degeneracy.models import model_from_checkpoint

    t = make_task(TASK["name"], **{k: v for k, v in TASK.items() if k != "name"})
    x2, _, _ = t.sample(PROBE["n_trials"], torch.Generator().manual_seed(PROBE["seed"] + 1_000_003))
    for seed, out in zip((0, 1), outs):
        model = model_from_checkpoint(torch.load(tmp_path / f"seed{seed}_converged.pt", weights_only=False), "final")
        with torch.no_grad():
            _, h = model.forward(x2)
        np.testing.assert_allclose(read_trajectories(out / "trajectories_probe2.parquet"), h.numpy(), rtol=1e-6)
