"""Training the seeds of one condition together, as one stacked ensemble.

Each member is the network :func:`degeneracy.training.train` would train with the same config and
seed: the same initial weights and the same stream of batches, its own Adam moments and step count,
its own ReduceLROnPlateau learning rate, its own stop rule and status, its own gradient-norm clipping.
The members share only the arithmetic: one batched matrix product per time step for all of them.
A member that converges, diverges or reaches ``max_epochs`` is written out at once (the same
checkpoint and Parquet log as separate training) and dropped from the stack; the others continue.
Results match separate training up to floating-point summation order.

Resumable like :func:`degeneracy.training.train`: one snapshot for the whole ensemble,
``<first member's checkpoint>.resume.pt``, holds the stacked weights and Adam state of the members
still training, each member's stream, schedule, stop rule and log rows, and the finished members'
outputs (a rerun of the Snakemake job finds those deleted, and writes them again).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from ..config import resolve_config
from ..models import build_model
from ..tasks import make_task
from .loop import _DATA_STREAM, TrainResult, _state, adam_eps, adam_lr, plateau_scheduler, resolve_device, write_outputs
from .prefetch import BatchPrefetcher
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
from .stacked import StackedRNN
from .stacked_adam import StackedAdam
from .stopping import StopRule


def ensemble_size(setting: str | int, device: str, compiled: bool, n_seeds: int) -> int:
    """How many seeds of a condition one job trains together (1 = separate training).

    ``setting`` is ``training.ensemble``: ``"off"`` -> 1; an integer K -> min(K, n_seeds);
    ``"auto"`` -> all seeds where the ensemble pays (on CUDA always; on CPU only when ``compiled``),
    else 1. ``device`` is the resolved device name (``"cpu"`` or ``"cuda"``).
    """
    if setting == "off":
        return 1
    if setting == "auto":
        return n_seeds if (device == "cuda" or compiled) else 1
    if isinstance(setting, bool) or not isinstance(setting, int) or setting < 1:
        raise ValueError(f"training.ensemble={setting!r} is invalid; use 'auto', 'off' or an integer >= 1")
    return max(1, min(setting, n_seeds))


def member_losses(
    model: StackedRNN, x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, reg_kind: str, reg_lambda: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-member task MSE and MSE + regulariser penalty, both (K,), on stacked batches (K, B, T, .)."""
    y_hat = model(x)
    dims = tuple(range(1, y.dim()))
    mse = (mask * (y_hat - y) ** 2).sum(dims) / mask.sum(dims).clamp(min=1.0)
    return mse, mse + regulariser_penalty(model.recurrent_matrix(), reg_kind, reg_lambda)


def clip_members(grads: list[torch.Tensor], max_norm: float) -> list[torch.Tensor]:
    """Each member's gradients scaled so that their joint L2 norm is at most ``max_norm``, as
    ``torch.nn.utils.clip_grad_norm_`` does for one network (new tensors: autograd may hand the same
    tensor to two parameters, e.g. the two RNN biases)."""
    sq = sum(g.reshape(g.shape[0], -1).pow(2).sum(1) for g in grads)
    coef = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    return [g * coef.view((-1,) + (1,) * (g.dim() - 1)) for g in grads]


class _Member:
    """Book-keeping of one member: its seed, data stream, schedule, stop rule and log rows."""

    def __init__(
        self,
        cfg: dict[str, Any],
        seed: int,
        lr: float,
        init_state: dict[str, torch.Tensor],
        checkpoint_path: Path | str,
        log_path: Path | str,
    ) -> None:
        tcfg = cfg["training"]
        self.seed, self.init_state = int(seed), init_state
        self.checkpoint_path, self.log_path = checkpoint_path, log_path
        self.gen = torch.Generator().manual_seed(self.seed + _DATA_STREAM)
        # ReduceLROnPlateau needs an optimiser; this placeholder only carries the member's learning rate
        self._lr_holder = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
        self.sched = plateau_scheduler(self._lr_holder, tcfg)
        self.stop = StopRule(tcfg["threshold"], tcfg["stop_patience"])
        self.rows: list[dict[str, Any]] = []
        self.steps = 0
        self.status: str | None = None
        self.loss_mean = float("nan")
        self.record: dict[str, Any] | None = None  # what write_outputs got, once finished

    @property
    def lr(self) -> float:
        return self._lr_holder.param_groups[0]["lr"]

    def snapshot(self, gen_state: torch.Tensor) -> dict[str, Any]:
        """This live member's book-keeping for a resumable snapshot (``gen_state``: its stream's state)."""
        return {
            "data_rng": gen_state,
            "scheduler": self.sched.state_dict(),
            "lr": self.lr,
            "stop_streak": self.stop.streak,
            "rows": self.rows,
            "steps": self.steps,
            "loss_mean": self.loss_mean,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Undo :meth:`snapshot`."""
        self.gen.set_state(state["data_rng"])
        self.sched.load_state_dict(state["scheduler"])
        self._lr_holder.param_groups[0]["lr"] = state["lr"]
        self.stop.streak = int(state["stop_streak"])
        self.rows, self.steps, self.loss_mean = list(state["rows"]), int(state["steps"]), float(state["loss_mean"])

    def finish(self, cfg: dict[str, Any], task: Any, status: str, final_state: dict[str, torch.Tensor]) -> TrainResult:
        """Write this member's checkpoint and log (as separate training would) and keep what was written."""
        self.status = status
        self.record = {
            "status": status,
            "final_state": final_state,
            "rows": self.rows,
            "steps": self.steps,
            "loss_mean": self.loss_mean,
        }
        return self.rewrite(cfg, task)

    def rewrite(self, cfg: dict[str, Any], task: Any) -> TrainResult:
        """(Re)write the outputs of a finished member from :attr:`record`."""
        r = self.record
        assert r is not None
        self.status = r["status"]
        return write_outputs(
            cfg,
            self.seed,
            r["status"],
            self.init_state,
            r["final_state"],
            task,
            r["rows"],
            r["steps"],
            r["loss_mean"],
            self.checkpoint_path,
            self.log_path,
        )


def train_ensemble(
    config: dict[str, Any],
    seeds: Sequence[int],
    checkpoint_paths: Sequence[Path | str],
    log_paths: Sequence[Path | str],
    progress: Callable[[dict[str, Any]], None] | None = None,
    compile: bool | str = False,
    lr_overrides: dict[int, float] | None = None,
    loader_workers: int | None = None,
    notice: Callable[[str], None] | None = None,
) -> list[TrainResult]:
    """Train one network per seed of one condition together; returns their :class:`TrainResult` in
    the order of ``seeds``.

    Each member behaves as :func:`degeneracy.training.train` with ``config`` and its seed (same stop
    rule, statuses, checkpoint and Parquet log, written to ``checkpoint_paths[i]`` and
    ``log_paths[i]``). ``progress``, if given, is called with each member's epoch row plus its
    ``seed``. ``compile=True`` runs the forward and loss through ``torch.compile`` (a one-time
    compile, cached on disk under ``TORCHINDUCTOR_CACHE_DIR``); a string names the compile backend
    (``"eager"`` traces without generating code, for tests). ``lr_overrides`` maps a seed to its
    own ``training.lr`` (a test hook: a condition has one learning rate). ``loader_workers`` > 0
    draws the batches in that many worker processes ahead of the step (same streams); ``None`` means
    0 on CPU and up to 8 (one CPU kept for the trainer) on CUDA, where drawing dominates otherwise.

    Resumable (module :mod:`.resume`): the ensemble's snapshot is ``<checkpoint_paths[0]>.resume.pt``,
    written every ``training.resume_every_s`` seconds (or ``resume_every_epochs`` epochs); a call with
    the same arguments continues from it, rewriting the members that had finished. ``notice`` (default:
    stderr) hears whether it resumed, or why a snapshot was not used.
    """
    notice = notice_stderr if notice is None else notice
    seeds = [int(s) for s in seeds]
    if not (len(seeds) == len(checkpoint_paths) == len(log_paths)) or not seeds:
        raise ValueError("train_ensemble needs one checkpoint path and one log path per seed, and >= 1 seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"train_ensemble got repeated seeds {seeds}")
    cfg = resolve_config(config)
    tcfg = cfg["training"]
    torch.set_num_threads(tcfg["num_threads"])
    device = resolve_device(tcfg["device"])
    task_cfg = dict(cfg["task"])
    task = make_task(task_cfg.pop("name"), **task_cfg)
    overrides = lr_overrides or {}

    models = [build_model(cfg["model"], task.n_inputs, task.n_outputs, s) for s in seeds]
    members = [
        _Member(cfg, s, adam_lr(cfg, overrides.get(s)), _state(m), cp, lp)
        for s, m, cp, lp in zip(seeds, models, checkpoint_paths, log_paths)
    ]
    snapshot = resume_path(checkpoint_paths[0])
    fp = fingerprint(cfg, seeds, "ensemble", device, code_version(__file__, cfg))
    fp["lr_overrides"] = {str(k): float(v) for k, v in sorted(overrides.items())}
    fp["compile"] = compile  # compiled and hand-written steps differ in summation order
    state = load_resume(snapshot, fp, notice)
    live = list(range(len(members)))
    if state is not None:
        live = list(state["live"])
        for i, mb in enumerate(members):
            if i in state["members"]:
                mb.restore(state["members"][i])
            else:
                mb.record = state["finished"][i]
        set_global_rng_state(state["global_rng"])
        notice(
            f"resumed from {snapshot}: epoch {state['epoch']} done ({state['elapsed_s']:.1f} s trained), "
            f"{len(live)} of {len(members)} members still training; continuing at epoch {state['epoch'] + 1}"
        )
    losses = member_losses
    if compile:
        backend = compile if isinstance(compile, str) else "inductor"
        losses = torch.compile(member_losses, dynamic=True, backend=backend)
    if loader_workers is None:
        loader_workers = 0 if device.type == "cpu" else min(8, len(seeds), max(0, _n_cpus() - 1))
    with contextlib.ExitStack() as stack:
        prefetch = None
        if loader_workers > 0:  # started before anything touches the GPU
            states = None if state is None else [m.gen.get_state() for m in members]
            prefetch = stack.enter_context(
                BatchPrefetcher(
                    task, tcfg["batch_size"], [s + _DATA_STREAM for s in seeds], loader_workers, states=states
                )
            )
        stacked = StackedRNN.from_models(models, fused=not compile).to(device)
        if state is not None:
            stacked.keep(live)
            stacked.load_state_dict(state["stacked"])
        opt = StackedAdam(list(stacked.parameters()), [members[i].lr for i in live], eps=adam_eps(cfg))
        if state is not None:
            opt.exp_avg = [t.to(device) for t in state["adam"]["exp_avg"]]
            opt.exp_avg_sq = [t.to(device) for t in state["adam"]["exp_avg_sq"]]
            opt.steps = list(state["adam"]["steps"])
        start = 1 if state is None else int(state["epoch"]) + 1
        elapsed0 = 0.0 if state is None else float(state["elapsed_s"])
        results = _run(
            cfg,
            task,
            members,
            models[0],
            stacked,
            opt,
            losses,
            device,
            prefetch,
            progress,
            live,
            start,
            elapsed0,
            snapshot,
            fp,
        )
    remove_resume(snapshot)
    return results


def _n_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _run(
    cfg: dict[str, Any],
    task: Any,
    members: list[_Member],
    template: torch.nn.Module,
    stacked: StackedRNN,
    opt: StackedAdam,
    losses: Callable,
    device: torch.device,
    prefetch: BatchPrefetcher | None,
    progress: Callable[[dict[str, Any]], None] | None,
    live: list[int],
    start: int,
    elapsed0: float,
    snapshot: Path,
    fp: dict[str, Any],
) -> list[TrainResult]:
    """The epoch loop of :func:`train_ensemble` from epoch ``start`` with the members ``live`` in the
    stack (in stack order; the others finished before a resumed run and are rewritten here);
    ``template`` is a single model used to write states."""
    tcfg = cfg["training"]
    reg = tcfg["regulariser"]
    results: dict[int, TrainResult] = {i: mb.rewrite(cfg, task) for i, mb in enumerate(members) if i not in live}
    t0 = time.perf_counter() - elapsed0
    timer = SnapshotTimer(tcfg["resume_every_s"], tcfg["resume_every_epochs"], start - 1)

    def save(epoch: int) -> None:
        def gen_state(i: int) -> torch.Tensor:
            return members[i].gen.get_state() if prefetch is None else prefetch.generator_state(i)

        state = {
            "epoch": epoch,
            "elapsed_s": time.perf_counter() - t0,
            "live": list(live),
            "stacked": {k: v.detach().to("cpu").clone() for k, v in stacked.state_dict().items()},
            "adam": {
                "exp_avg": [t.detach().to("cpu") for t in opt.exp_avg],
                "exp_avg_sq": [t.detach().to("cpu") for t in opt.exp_avg_sq],
                "steps": list(opt.steps),
            },
            "members": {i: members[i].snapshot(gen_state(i)) for i in live},
            "finished": {i: mb.record for i, mb in enumerate(members) if i not in live},
            "global_rng": global_rng_state(),
        }
        save_resume(snapshot, fp, state)
        timer.mark(epoch)

    def drop(keep: list[int]) -> None:
        stacked.keep(keep)
        opt.keep(keep, list(stacked.parameters()))

    for epoch in range(start, tcfg["max_epochs"] + 1):
        total = torch.zeros(len(live), device=device)
        stopped: dict[int, tuple[dict[str, torch.Tensor], float]] = {}  # non-finite loss this epoch
        for _ in range(tcfg["steps_per_epoch"]):
            if prefetch is not None:
                x, y, mask = (t.to(device) for t in prefetch.next(live))
            else:
                batches = [task.sample(tcfg["batch_size"], members[i].gen) for i in live]
                x, y, mask = (torch.stack([b[j] for b in batches]).to(device) for j in range(3))
            mse, loss = losses(stacked, x, y, mask, reg["kind"], reg["lambda"])
            grads = list(torch.autograd.grad(loss.sum(), list(stacked.parameters())))
            if tcfg["grad_clip"] is not None:
                grads = clip_members(grads, tcfg["grad_clip"])
            opt.step(grads)
            total += mse.detach()
            finite = torch.isfinite(loss.detach()).tolist()  # one sync per step, as in separate training
            for i in live:
                members[i].steps += 1
            if not all(finite):
                # as in separate training, such a member ends its epoch here (and is then diverged)
                for k, i in enumerate(live):
                    if not finite[k]:
                        stopped[i] = (stacked.member_state(k), float(total[k]))
                keep = [k for k in range(len(live)) if finite[k]]
                live = [live[k] for k in keep]
                total = total[keep]
                if not live:
                    break
                drop(keep)
        sums = dict(zip(live, total.tolist()))
        elapsed = time.perf_counter() - t0
        finished: list[int] = []
        for i in sorted(set(live) | set(stopped)):
            mb = members[i]
            mb.loss_mean = (stopped[i][1] if i in stopped else sums[i]) / tcfg["steps_per_epoch"]
            row = {"epoch": epoch, "steps": mb.steps, "loss": mb.loss_mean, "lr": mb.lr, "elapsed_s": elapsed}
            mb.rows.append(row)
            if progress is not None:
                progress({**row, "seed": mb.seed})
            status = None
            if i in stopped or not math.isfinite(mb.loss_mean):
                status = "diverged"
            else:
                mb.sched.step(mb.loss_mean)
                opt.lrs[live.index(i)] = mb.lr
                if mb.stop.update(mb.loss_mean):
                    status = "converged"
                elif epoch == tcfg["max_epochs"]:
                    status = "not_converged"
            if status is None:
                continue
            template.load_state_dict(stopped[i][0] if i in stopped else stacked.member_state(live.index(i)))
            results[i] = mb.finish(cfg, task, status, _state(template))
            finished.append(i)
        keep = [k for k, i in enumerate(live) if i not in finished]
        if not keep:
            break
        if len(keep) < len(live):
            live = [live[k] for k in keep]
            if not live:
                break
            drop(keep)
        if epoch < tcfg["max_epochs"] and timer.due(epoch):
            save(epoch)
    return [results[i] for i in range(len(members))]
