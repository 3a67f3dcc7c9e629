"""Training one network to criterion."""

from __future__ import annotations

import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from .. import __version__
from ..config import resolve_config
from ..io import atomic_torch_save, atomic_write_parquet
from ..models import build_model
from ..tasks import make_task
from .regularisers import regulariser_penalty
from .resume import (
    SnapshotTimer,
    code_version,
    fingerprint,
    global_rng_state,
    load_resume,
    notice_stderr,
    remove_resume,
    resume_path,
    save_resume,
    set_global_rng_state,
)
from .stopping import StopRule

STATUSES = ("converged", "not_converged", "diverged")
LOG_COLUMNS = ("epoch", "steps", "loss", "lr", "elapsed_s")

# Offsets that separate the random streams drawn from one seed.
_DATA_STREAM = 1_000_003


@dataclass
class TrainResult:
    """Outcome of :func:`train`: ``status`` in STATUSES, epochs and steps run, and the last
    epoch-mean training MSE (``final_loss``; NaN/inf when diverged)."""

    status: str
    epochs: int
    steps: int
    final_loss: float
    checkpoint_path: Path
    log_path: Path


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when available else CPU; 'cuda' without CUDA raises a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("training.device='cuda' but no CUDA device is available; use 'auto' or 'cpu'")
    return torch.device(name)


def masked_mse(y_hat: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """sum(mask * (y_hat - y)^2) / sum(mask): the task loss (squared output units)."""
    return (mask * (y_hat - y) ** 2).sum() / mask.sum().clamp(min=1.0)


def library_versions() -> dict[str, str]:
    """Versions recorded in every checkpoint."""
    return {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "numpy": str(np.__version__),
        "pandas": str(pd.__version__),
        "degeneracy": __version__,
    }


def adam_lr(cfg: dict[str, Any], base_lr: float | None = None) -> float:
    """The Adam learning rate of a resolved config: ``training.lr`` (or ``base_lr``), times ``gamma``
    for muP models."""
    lr = cfg["training"]["lr"] if base_lr is None else float(base_lr)
    return lr * (cfg["model"]["gamma"] if cfg["model"]["kind"] == "mup" else 1.0)


def adam_eps(cfg: dict[str, Any]) -> float:
    """The Adam epsilon of a resolved config: ``training.adam_eps``, times (adam_eps_width /
    n_units)^2 when ``training.adam_eps_width`` is set (gradients of the recurrent weights scale as
    1/n^2, so a fixed epsilon would swamp them in wide networks: muP's width-scaled epsilon)."""
    tcfg = cfg["training"]
    eps = float(tcfg["adam_eps"])
    if tcfg.get("adam_eps_width") is not None:
        eps *= (float(tcfg["adam_eps_width"]) / float(cfg["model"]["n_units"])) ** 2
    return eps


def plateau_scheduler(opt: torch.optim.Optimizer, tcfg: dict[str, Any]) -> torch.optim.lr_scheduler.ReduceLROnPlateau:
    """ReduceLROnPlateau on the epoch-mean MSE with the config's factor and patience (epochs)."""
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=tcfg["plateau_factor"], patience=tcfg["plateau_patience"]
    )


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}


def train(
    config: dict[str, Any],
    seed: int,
    checkpoint_path: Path | str,
    log_path: Path | str,
    progress: Callable[[dict[str, Any]], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train one network with BPTT + Adam until criterion, budget or divergence.

    Every step draws a fresh batch; an epoch is ``steps_per_epoch`` steps; ReduceLROnPlateau acts on
    the epoch-mean task MSE; training stops once that MSE has stayed below ``threshold`` for
    ``stop_patience + 1`` consecutive epochs, i.e. the crossing epoch and ``stop_patience`` more (status
    ``converged``; a rise to or above the threshold resets the count, see :class:`StopRule`), after
    ``max_epochs`` (``not_converged``), or at the end of the epoch in which the loss (MSE + penalty) of a
    step turned non-finite (``diverged``; no exception escapes). ``seed`` drives initialisation and data;
    on CPU the same config and seed give bitwise-identical weights.

    Writes the checkpoint (initial and final weights, resolved config, seed, status, versions) and
    the per-epoch log (Parquet: epoch, steps, loss [MSE], lr, elapsed_s [s]) atomically.
    ``progress``, if given, is called with each epoch's log row.

    Resumable: every ``training.resume_every_s`` seconds (or ``resume_every_epochs`` epochs) the
    run's whole state goes to ``<checkpoint_path>.resume.pt`` at the end of an epoch; a later call
    with the same arguments continues from it (same final checkpoint and log, ``elapsed_s`` aside),
    and a snapshot of another config or code version is ignored. The snapshot is removed once the
    final checkpoint is written. ``notice`` (default: a line on stderr) hears whether the run resumed
    and from which epoch, or why a snapshot found was not used (module :mod:`.resume`).
    """
    notice = notice_stderr if notice is None else notice
    cfg = resolve_config(config)
    tcfg = cfg["training"]
    torch.set_num_threads(tcfg["num_threads"])
    device = resolve_device(tcfg["device"])
    task_cfg = dict(cfg["task"])
    task = make_task(task_cfg.pop("name"), **task_cfg)
    model = build_model(cfg["model"], task.n_inputs, task.n_outputs, seed).to(device)
    init_state = _state(model)
    opt = torch.optim.Adam(model.parameters(), lr=adam_lr(cfg), eps=adam_eps(cfg))
    sched = plateau_scheduler(opt, tcfg)
    gen = torch.Generator().manual_seed(int(seed) + _DATA_STREAM)
    reg = tcfg["regulariser"]

    rows: list[dict[str, Any]] = []
    stop = StopRule(tcfg["threshold"], tcfg["stop_patience"])
    status, steps, loss_mean = "not_converged", 0, float("nan")
    snapshot = resume_path(checkpoint_path)
    fp = fingerprint(cfg, [seed], "single", device, code_version(__file__, cfg))
    start, elapsed0 = 1, 0.0
    state = load_resume(snapshot, fp, notice)
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        stop.streak = int(state["stop_streak"])
        gen.set_state(state["data_rng"])
        set_global_rng_state(state["global_rng"])
        init_state, rows, steps = state["init_state"], list(state["rows"]), int(state["steps"])
        start, elapsed0 = int(state["epoch"]) + 1, float(state["elapsed_s"])
        notice(
            f"resumed from {snapshot}: epoch {state['epoch']} done ({steps} steps, "
            f"{elapsed0:.1f} s trained); continuing at epoch {start}"
        )
    timer = SnapshotTimer(tcfg["resume_every_s"], tcfg["resume_every_epochs"], start - 1)
    t0 = time.perf_counter() - elapsed0
    for epoch in range(start, tcfg["max_epochs"] + 1):
        total = torch.zeros((), device=device)
        finite = True
        for _ in range(tcfg["steps_per_epoch"]):
            x, y, mask = (t.to(device) for t in task.sample(tcfg["batch_size"], gen))
            y_hat, _ = model(x)
            mse = masked_mse(y_hat, y, mask)
            loss = mse + regulariser_penalty(model.recurrent_matrix(), reg["kind"], reg["lambda"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if tcfg["grad_clip"] is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg["grad_clip"])
            opt.step()
            steps += 1
            total += mse.detach()
            if not torch.isfinite(loss.detach()):  # one sync per step; cheap next to BPTT
                finite = False
                break
        loss_mean = float(total) / tcfg["steps_per_epoch"]
        row = {
            "epoch": epoch,
            "steps": steps,
            "loss": loss_mean,
            "lr": opt.param_groups[0]["lr"],
            "elapsed_s": time.perf_counter() - t0,
        }
        rows.append(row)
        if progress is not None:
            progress(row)
        if not (finite and math.isfinite(loss_mean)):
            status = "diverged"
            break
        sched.step(loss_mean)
        if stop.update(loss_mean):
            status = "converged"
            break
        if epoch < tcfg["max_epochs"] and timer.due(epoch):
            save_resume(
                snapshot,
                fp,
                {
                    "epoch": epoch,
                    "steps": steps,
                    "elapsed_s": time.perf_counter() - t0,
                    "rows": rows,
                    "init_state": init_state,
                    "model": _state(model),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "stop_streak": stop.streak,
                    "data_rng": gen.get_state(),
                    "global_rng": global_rng_state(),
                },
            )
            timer.mark(epoch)
    result = write_outputs(
        cfg, seed, status, init_state, _state(model), task, rows, steps, loss_mean, checkpoint_path, log_path
    )
    remove_resume(snapshot)
    return result


def write_outputs(
    cfg: dict[str, Any],
    seed: int,
    status: str,
    init_state: dict[str, torch.Tensor],
    final_state: dict[str, torch.Tensor],
    task: Any,
    rows: list[dict[str, Any]],
    steps: int,
    final_loss: float,
    checkpoint_path: Path | str,
    log_path: Path | str,
) -> TrainResult:
    """Write one network's per-epoch log (Parquet) and checkpoint atomically; the same files whether
    the network was trained alone (:func:`train`) or in an ensemble. Returns its :class:`TrainResult`."""
    log = pd.DataFrame(rows, columns=list(LOG_COLUMNS)).astype(
        {"epoch": "int64", "steps": "int64", "loss": "float64", "lr": "float64", "elapsed_s": "float64"}
    )
    ckpt = {
        "config": cfg,
        "seed": int(seed),
        "status": status,
        "init_state": init_state,
        "final_state": final_state,
        "n_inputs": task.n_inputs,
        "n_outputs": task.n_outputs,
        "epochs": len(rows),
        "steps": steps,
        "final_loss": final_loss,
        "threshold": cfg["training"]["threshold"],
        "versions": library_versions(),
    }
    log_path = atomic_write_parquet(log, log_path)
    checkpoint_path = atomic_torch_save(ckpt, checkpoint_path)
    return TrainResult(status, len(rows), steps, final_loss, checkpoint_path, log_path)
