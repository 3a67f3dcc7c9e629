"""Resumable training: a snapshot of a run in progress, written every few minutes, read on a rerun.

A long training writes ``<checkpoint>.resume.pt`` (:func:`resume_path`) next to its final
checkpoint, atomically, at the end of an epoch once ``training.resume_every_s`` seconds (or
``training.resume_every_epochs`` epochs) have passed since the last one. It holds everything the
rest of the run depends on: weights, optimiser and scheduler state, stop-rule streak, the random
generators' states (the data stream, torch's global CPU and CUDA generators, numpy's and Python's),
the epoch reached, the optimiser steps, the log rows so far and the seconds trained. A rerun with the
same arguments continues from it, so the final checkpoint and log are those of an uninterrupted run
(``elapsed_s`` counts training time only, not the time between the kill and the rerun). The file is
removed once the final checkpoint is written.

The file also holds a fingerprint of what the run computes: the resolved config (less the
``resume_every_*`` keys, which change only when snapshots are taken), the seeds, the trainer, the
device type, the hash of the training code (:func:`degeneracy.pipeline.codehash.code_hash` of the
trainer module and everything it imports, scoped to the task and model kind) and the library
versions. A snapshot whose fingerprint differs is stale: the run starts fresh and says why.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..io import atomic_torch_save

RESUME_SUFFIX = ".resume.pt"
#: training keys that decide only when snapshots are written (not part of the fingerprint)
RESUME_KEYS = ("resume_every_s", "resume_every_epochs")
FORMAT = 1


def resume_path(checkpoint_path: Path | str) -> Path:
    """The resumable snapshot of the run whose final checkpoint is ``checkpoint_path``."""
    return Path(str(checkpoint_path) + RESUME_SUFFIX)


def notice_stderr(message: str) -> None:
    """Default ``notice`` callback: one line on stderr (a Snakemake job's log file), flushed."""
    print(message, file=sys.stderr, flush=True)


def code_version(trainer_file: str | Path, cfg: dict[str, Any]) -> str:
    """Hash of the training code a run executes: ``trainer_file`` (loop.py or ensemble.py) and the
    package modules it imports, scoped to the run's task and model kind."""
    from ..pipeline.codehash import code_hash

    src = Path(__file__).resolve().parents[2]  # the folder holding degeneracy/
    return code_hash(trainer_file, src, cfg["task"]["name"], cfg["model"]["kind"])


def fingerprint(cfg: dict[str, Any], seeds: list[int], trainer: str, device: torch.device, code: str) -> dict[str, Any]:
    """What a snapshot must match to be resumed: config (less RESUME_KEYS), seeds, trainer, device
    type, code hash and library versions."""
    from .loop import library_versions

    training = {k: v for k, v in cfg["training"].items() if k not in RESUME_KEYS}
    return {
        "format": FORMAT,
        "config": {**cfg, "training": training},
        "seeds": [int(s) for s in seeds],
        "trainer": trainer,
        "device": device.type,
        "code": code,
        "versions": library_versions(),
    }


def _digest(fp: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fp, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict):
        return {prefix: d}
    out: dict[str, Any] = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def stale_reason(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Why a snapshot with fingerprint ``old`` cannot continue a run with fingerprint ``new``
    (one phrase), or None when they match."""
    if _digest(old) == _digest(new):
        return None
    if old.get("format") != new["format"]:
        return f"it has snapshot format {old.get('format')}, this code writes {new['format']}"
    if old.get("trainer") != new["trainer"] or old.get("seeds") != new["seeds"]:
        return (
            f"it was written by the {old.get('trainer')} trainer for seeds {old.get('seeds')}, "
            f"this run is the {new['trainer']} trainer for seeds {new['seeds']}"
        )
    if old.get("config") != new["config"]:
        a, b = _flat(old.get("config") or {}), _flat(new["config"])
        diff = [
            f"{k}: {a.get(k, '<unset>')!r} -> {b.get(k, '<unset>')!r}"
            for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)
        ]
        return "the config changed (" + "; ".join(diff[:5]) + (" ..." if len(diff) > 5 else "") + ")"
    if old.get("code") != new["code"]:
        return f"the training code changed (code hash {old.get('code')} -> {new['code']})"
    if old.get("device") != new["device"]:
        return f"it was trained on {old.get('device')}, this run is on {new['device']}"
    if old.get("versions") != new["versions"]:
        a, b = old.get("versions") or {}, new["versions"]
        diff = [f"{k} {a.get(k)} -> {b.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        return "library versions changed (" + ", ".join(diff) + ")"
    return "its fingerprint differs"


def load_resume(path: Path, fp: dict[str, Any], notice: Callable[[str], None]) -> dict[str, Any] | None:
    """The snapshot at ``path`` if it exists, is readable and matches ``fp``; otherwise None, after
    saying (through ``notice``) why a snapshot that exists is not used."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
        old = state["fingerprint"]
    except Exception as exc:  # truncated or foreign file: never fatal, the run starts fresh
        notice(f"starting fresh: resume file {path} is unreadable ({type(exc).__name__}: {exc})")
        return None
    reason = stale_reason(old, fp)
    if reason is not None:
        notice(f"starting fresh: resume file {path} is stale: {reason}")
        return None
    return state


def save_resume(path: Path, fp: dict[str, Any], state: dict[str, Any]) -> None:
    """Write the snapshot ``state`` with fingerprint ``fp`` to ``path`` atomically."""
    atomic_torch_save({"fingerprint": fp, **state}, path)


def remove_resume(path: Path) -> None:
    """Delete the snapshot (after the final checkpoint is written)."""
    path.unlink(missing_ok=True)


def global_rng_state() -> dict[str, Any]:
    """States of the process-wide generators: torch CPU (and CUDA when initialised), numpy, random."""
    out: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_global_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`global_rng_state` returned."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class SnapshotTimer:
    """When to write a snapshot: at the end of an epoch, once ``every_s`` seconds or ``every_epochs``
    epochs have passed since the last one (or the start); both None: never."""

    def __init__(self, every_s: float | None, every_epochs: int | None, epoch: int = 0) -> None:
        self.every_s, self.every_epochs = every_s, every_epochs
        self.last_t, self.last_epoch = time.perf_counter(), epoch

    def due(self, epoch: int) -> bool:
        if self.every_epochs is not None and epoch - self.last_epoch >= self.every_epochs:
            return True
        return self.every_s is not None and time.perf_counter() - self.last_t >= self.every_s

    def mark(self, epoch: int) -> None:
        self.last_t, self.last_epoch = time.perf_counter(), epoch
