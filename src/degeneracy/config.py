"""The configuration of one training run, with every default of SPEC.md sections 2-4.

A config is a plain dict with three sections::

    task:     {name: flipflop, <task knobs, see degeneracy.tasks>}
    model:    {kind: standard | mup, n_units, gamma, tau, readout_init}
    training: {lr, batch_size, steps_per_epoch, max_epochs, plateau_factor, plateau_patience,
               stop_patience, threshold, regulariser: {kind, lambda}, grad_clip, device, num_threads}

:func:`resolve_config` fills every missing key with its default (``lr`` and ``threshold`` default
to the task's own, see ``Task.default_lr`` and ``Task.threshold``) and rejects unknown keys and
invalid values with a message naming the key and the allowed values. This module does not import
torch (it is used by the Snakefile).
"""

from __future__ import annotations

import copy
from typing import Any

MODEL_DEFAULTS: dict[str, Any] = {
    "kind": "standard",  # standard | mup
    "n_units": 128,  # SPEC 3: n = 128
    "gamma": 1.0,  # muP only: feature-learning strength
    "tau": 0.1,  # muP only: leak / time constant ratio
    "readout_init": "zero",  # muP only: small-gamma remedy (zero | normal)
}

TRAINING_DEFAULTS: dict[str, Any] = {
    "lr": None,  # Adam rate (muP: eta0, the rate is gamma * eta0); None -> task default
    "batch_size": 64,
    "steps_per_epoch": 128,
    "max_epochs": 1000,
    "plateau_factor": 0.5,  # ReduceLROnPlateau on the epoch-mean MSE
    "plateau_patience": 40,  # epochs
    "stop_patience": 3,  # epochs trained after the epoch-mean MSE first falls below threshold
    "threshold": None,  # None -> task threshold (MSE)
    "regulariser": {"kind": "none", "lambda": 0.0},  # none | l1 | nuclear
    "grad_clip": None,  # max gradient norm, None = no clipping
    "device": "auto",  # auto | cpu | cuda
    "num_threads": 1,  # torch CPU threads per job
}

REGULARISERS = ("none", "l1", "nuclear")
DEVICES = ("auto", "cpu", "cuda")
MODEL_KINDS = ("standard", "mup")
READOUT_INITS = ("zero", "normal")


class ConfigError(ValueError):
    """A config key or value is invalid; the message names it and the allowed values."""


def _merge(section: str, given: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise ConfigError(f"'{section}' must be a mapping, got {type(given).__name__}")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in '{section}'; allowed keys: {sorted(defaults)}")
    out = copy.deepcopy(defaults)
    out.update(copy.deepcopy(given))
    return out


def _positive(section: str, cfg: dict[str, Any], key: str, integer: bool) -> None:
    value = cfg[key]
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        what = "a positive integer" if integer else "a positive number"
        raise ConfigError(f"{section}.{key}={value!r} is invalid; it must be {what}")


def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
    """Return a full copy of ``config`` with every default filled in and every value checked.

    The result is what checkpoints store; resolving it again gives the same dict.
    """
    from .tasks import make_task  # local import: tasks import torch

    allowed = {"task", "model", "training"}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ConfigError(f"unknown top-level key(s) {unknown}; allowed keys: {sorted(allowed)}")
    if "task" not in config or "name" not in config["task"]:
        raise ConfigError("the config needs task.name (one of the tasks in degeneracy.tasks.TASKS)")
    task_cfg = dict(config["task"])
    name = task_cfg.pop("name")
    task = make_task(name, **task_cfg)
    resolved_task = {"name": name, **task.knobs()}

    model = _merge("model", config.get("model", {}), MODEL_DEFAULTS)
    if model["kind"] not in MODEL_KINDS:
        raise ConfigError(f"model.kind={model['kind']!r} is invalid; allowed: {list(MODEL_KINDS)}")
    if model["readout_init"] not in READOUT_INITS:
        raise ConfigError(
            f"model.readout_init={model['readout_init']!r} is invalid; allowed: {list(READOUT_INITS)}"
        )
    if isinstance(model["n_units"], bool) or not isinstance(model["n_units"], int) or model["n_units"] < 2:
        raise ConfigError(f"model.n_units={model['n_units']!r} is invalid; it must be an integer >= 2")
    for key in ("gamma", "tau"):
        _positive("model", model, key, integer=False)

    training = _merge("training", config.get("training", {}), TRAINING_DEFAULTS)
    training["regulariser"] = _merge(
        "training.regulariser", training["regulariser"], TRAINING_DEFAULTS["regulariser"]
    )
    if training["lr"] is None:
        training["lr"] = task.default_lr
    if training["threshold"] is None:
        training["threshold"] = task.threshold
    for key in ("lr", "threshold", "plateau_factor"):
        _positive("training", training, key, integer=False)
    for key in ("batch_size", "steps_per_epoch", "max_epochs", "plateau_patience", "num_threads"):
        _positive("training", training, key, integer=True)
    if isinstance(training["stop_patience"], bool) or not isinstance(training["stop_patience"], int) or training["stop_patience"] < 0:
        raise ConfigError(f"training.stop_patience={training['stop_patience']!r} is invalid; it must be an integer >= 0")
    reg = training["regulariser"]
    if reg["kind"] not in REGULARISERS:
        raise ConfigError(f"training.regulariser.kind={reg['kind']!r} is invalid; allowed: {list(REGULARISERS)}")
    if not isinstance(reg["lambda"], (int, float)) or reg["lambda"] < 0:
        raise ConfigError(f"training.regulariser.lambda={reg['lambda']!r} is invalid; it must be a number >= 0")
    if training["device"] not in DEVICES:
        raise ConfigError(f"training.device={training['device']!r} is invalid; allowed: {list(DEVICES)}")
    if training["grad_clip"] is not None:
        _positive("training", training, "grad_clip", integer=False)
    return {"task": resolved_task, "model": model, "training": training}
