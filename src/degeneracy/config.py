"""The configuration of one training run: every model and training key, its default and bounds.

A config is a plain dict with three sections::

    task:     {name: flipflop, <task knobs, see degeneracy.tasks>}
    model:    {kind: standard | mup, n_units, gamma, tau, readout_init}
    training: {lr, batch_size, steps_per_epoch, max_epochs, plateau_factor, plateau_patience,
               stop_patience, threshold, regulariser: {kind, lambda}, grad_clip, adam_eps,
               adam_eps_width, device, num_threads, resume_every_s, resume_every_epochs}

:data:`MODEL_PARAMS`, :data:`TRAINING_PARAMS` and :data:`REGULARISER_PARAMS` are the only
statement of these keys. :func:`resolve_config` checks a config against them (and the task's own
knob declarations) and fills every default (``lr`` and ``threshold`` default to the task's own);
:func:`schema_definitions` turns them into the JSON-schema fragments that
``schemas/config.schema.yaml`` holds (a test keeps the committed file equal to them). The
science behind each default is in ``docs/science.md``. This module does not import torch.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ConfigError",
    "Param",
    "MODEL_PARAMS",
    "TRAINING_PARAMS",
    "REGULARISER_PARAMS",
    "MODEL_DEFAULTS",
    "TRAINING_DEFAULTS",
    "MODEL_KINDS",
    "REGULARISERS",
    "resolve_config",
    "schema_definitions",
    "check_value",
]


class ConfigError(ValueError):
    """A config key or value is invalid; the message names it and the allowed values."""


@dataclass(frozen=True)
class Param:
    """One config key: its default, type (``int``, ``float``, ``str`` or ``bool``), bounds or
    choices, whether ``None`` is allowed, and a one-line description (with units)."""

    default: Any
    kind: type
    doc: str
    minimum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    choices: tuple | None = None
    nullable: bool = False

    def requirement(self) -> str:
        """English statement of what the key allows, e.g. 'an integer >= 1'."""
        if self.choices is not None:
            text = f"one of {list(self.choices)}"
        else:
            text = {int: "an integer", float: "a finite number", str: "a string", bool: "true or false"}[self.kind]
            bounds = []
            if self.minimum is not None:
                bounds.append(f">= {self.minimum}")
            if self.exclusive_minimum is not None:
                bounds.append(f"> {self.exclusive_minimum}")
            if self.exclusive_maximum is not None:
                bounds.append(f"< {self.exclusive_maximum}")
            if bounds:
                text += " " + " and ".join(bounds)
        return text + (" (or null)" if self.nullable else "")

    def valid(self, value: Any) -> bool:
        """Whether ``value`` satisfies this key's type, bounds and choices."""
        if value is None:
            return self.nullable
        if self.choices is not None:
            return any(value == c and type(value) is type(c) for c in self.choices) or (
                self.kind in (int, float) and not isinstance(value, bool) and value in self.choices
            )
        if self.kind is bool:
            return isinstance(value, bool)
        if self.kind is str:
            return isinstance(value, str)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        if self.minimum is not None and value < self.minimum:
            return False
        if self.exclusive_minimum is not None and value <= self.exclusive_minimum:
            return False
        if self.exclusive_maximum is not None and value >= self.exclusive_maximum:
            return False
        return True

    def schema(self) -> dict[str, Any]:
        """JSON-schema fragment of this key."""
        names = {int: "integer", float: "number", str: "string", bool: "boolean"}
        out: dict[str, Any] = {"type": [names[self.kind], "null"] if self.nullable else names[self.kind]}
        if self.choices is not None:
            out["enum"] = list(self.choices) + ([None] if self.nullable else [])
        for key, value in (
            ("minimum", self.minimum),
            ("exclusiveMinimum", self.exclusive_minimum),
            ("exclusiveMaximum", self.exclusive_maximum),
        ):
            if value is not None:
                out[key] = value
        out["description"] = self.doc
        return out


MODEL_KINDS = ("standard", "mup")
REGULARISERS = ("none", "l1", "nuclear")
DEVICES = ("auto", "cpu", "cuda")
READOUT_INITS = ("zero", "normal")

MODEL_PARAMS: dict[str, Param] = {
    "kind": Param("standard", str, "standard tanh RNN or the leaky mean-field (muP) network", choices=MODEL_KINDS),
    "n_units": Param(128, int, "recurrent units n", minimum=2),
    "gamma": Param(1.0, float, "muP only: feature-learning strength", exclusive_minimum=0),
    "tau": Param(0.1, float, "muP only: leak (step / time constant)", exclusive_minimum=0),
    "readout_init": Param(
        "zero", str, "muP only: readout start, zero (output 0 at every gamma) or normal", choices=READOUT_INITS
    ),
}

REGULARISER_PARAMS: dict[str, Param] = {
    "kind": Param("none", str, "structural penalty on the effective recurrent matrix", choices=REGULARISERS),
    "lambda": Param(0.0, float, "penalty strength", minimum=0),
}

TRAINING_PARAMS: dict[str, Param] = {
    "lr": Param(
        None, float, "Adam rate (muP: eta0, rate = gamma * eta0); null: the task's", exclusive_minimum=0, nullable=True
    ),
    "batch_size": Param(64, int, "trials per step", minimum=1),
    "steps_per_epoch": Param(128, int, "steps per epoch", minimum=1),
    "max_epochs": Param(1000, int, "epoch budget", minimum=1),
    "plateau_factor": Param(0.5, float, "ReduceLROnPlateau factor", exclusive_minimum=0, exclusive_maximum=1),
    "plateau_patience": Param(40, int, "ReduceLROnPlateau patience (epochs)", minimum=1),
    "stop_patience": Param(3, int, "further consecutive epochs below threshold after the first, then stop", minimum=0),
    "threshold": Param(None, float, "convergence MSE; null: the task's", exclusive_minimum=0, nullable=True),
    "grad_clip": Param(None, float, "max gradient norm; null: no clipping", exclusive_minimum=0, nullable=True),
    "adam_eps": Param(1e-8, float, "Adam epsilon (torch's default)", exclusive_minimum=0),
    "adam_eps_width": Param(
        None,
        int,
        "null: adam_eps as given; N: adam_eps x (N / n_units)^2 (recurrent gradients scale as 1/n^2)",
        minimum=1,
        nullable=True,
    ),
    "device": Param("auto", str, "auto (CUDA when present), cpu or cuda", choices=DEVICES),
    "num_threads": Param(1, int, "torch CPU threads per job", minimum=1),
    "resume_every_s": Param(
        300.0,
        float,
        "seconds between resumable snapshots (<checkpoint>.resume.pt, end of an epoch); null: none by time",
        exclusive_minimum=0,
        nullable=True,
    ),
    "resume_every_epochs": Param(
        None, int, "also a resumable snapshot every this many epochs; null: by time only", minimum=1, nullable=True
    ),
}

MODEL_DEFAULTS: dict[str, Any] = {k: p.default for k, p in MODEL_PARAMS.items()}
TRAINING_DEFAULTS: dict[str, Any] = {k: p.default for k, p in TRAINING_PARAMS.items()}
TRAINING_DEFAULTS["regulariser"] = {k: p.default for k, p in REGULARISER_PARAMS.items()}


def check_value(section: str, key: str, value: Any, params: dict[str, Param]) -> None:
    """Raise :class:`ConfigError` ``<section>.<key>=<value> is invalid; it must be ...``."""
    param = params[key]
    if not param.valid(value):
        raise ConfigError(f"{section}.{key}={value!r} is invalid; it must be {param.requirement()}")


def _merge(section: str, given: Any, params: dict[str, Param], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise ConfigError(f"'{section}' must be a mapping, got {type(given).__name__}")
    allowed = sorted([*params, *extra])
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in '{section}'; allowed keys: {allowed}")
    out = {k: copy.deepcopy(p.default) for k, p in params.items()}
    out.update(copy.deepcopy({k: v for k, v in given.items() if k in params}))
    for key in params:
        check_value(section, key, out[key], params)
    return out


def resolve_config(config: dict[str, Any]) -> dict[str, Any]:
    """Return a full copy of ``config`` with every default filled in and every value checked.

    Raises :class:`ConfigError` (or :class:`degeneracy.tasks.TaskConfigError`) naming the key
    and what it allows. The result is what checkpoints store; resolving it again gives the same
    dict.
    """
    from .tasks import make_task  # torch-free

    if not isinstance(config, dict):
        raise ConfigError(f"a training config must be a mapping, got {type(config).__name__}")
    allowed = {"task", "model", "training"}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ConfigError(f"unknown top-level key(s) {unknown}; allowed keys: {sorted(allowed)}")
    if not isinstance(config.get("task"), dict) or "name" not in config["task"]:
        raise ConfigError("the config needs task.name (a task of degeneracy.tasks.TASKS or 'module:Class')")
    task_cfg = dict(config["task"])
    name = task_cfg.pop("name")
    task = make_task(name, **task_cfg)
    resolved_task = {"name": name, **task.knobs()}

    model = _merge("model", config.get("model", {}), MODEL_PARAMS)
    training_in = dict(config.get("training", {}) or {})
    regulariser = _merge("training.regulariser", training_in.pop("regulariser", {}) or {}, REGULARISER_PARAMS)
    training = _merge("training", training_in, TRAINING_PARAMS)
    training["regulariser"] = regulariser
    if training["lr"] is None:
        training["lr"] = task.default_lr
    if training["threshold"] is None:
        training["threshold"] = task.threshold
    return {"task": resolved_task, "model": model, "training": training}


def schema_definitions() -> dict[str, Any]:
    """The ``model``, ``training`` and ``regulariser`` definitions of the workflow's JSON schema,
    generated from :data:`MODEL_PARAMS`, :data:`TRAINING_PARAMS` and :data:`REGULARISER_PARAMS`."""

    def obj(params: dict[str, Param], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        props = {k: p.schema() for k, p in params.items()}
        props.update(extra or {})
        return {"type": "object", "additionalProperties": False, "properties": props}

    return {
        "regulariser": obj(REGULARISER_PARAMS),
        "training": obj(TRAINING_PARAMS, {"regulariser": {"$ref": "#/definitions/regulariser"}}),
        "model": obj(MODEL_PARAMS),
    }


_BEGIN = "  # BEGIN generated by `python -m degeneracy.config` from degeneracy/config.py: do not edit\n"
_END = "  # END generated\n"


def schema_block() -> str:
    """The generated block of ``schemas/config.schema.yaml`` (YAML text, flow style per key)."""
    import json

    lines = [_BEGIN]
    for name, definition in schema_definitions().items():
        lines.append(f"  {name}:\n")
        lines.append("    type: object\n    additionalProperties: false\n    properties:\n")
        for key, frag in definition["properties"].items():
            lines.append(f"      {key}: {json.dumps(frag)}\n")
    lines.append(_END)
    return "".join(lines)


def write_schema(path: str) -> bool:
    """Rewrite the generated block of the schema at ``path``; returns whether the file changed."""
    from pathlib import Path

    text = Path(path).read_text()
    start, end = text.index(_BEGIN), text.index(_END) + len(_END)
    new = text[:start] + schema_block() + text[end:]
    if new != text:
        Path(path).write_text(new)
    return new != text


if __name__ == "__main__":  # python -m degeneracy.config [schemas/config.schema.yaml]
    import sys
    from pathlib import Path

    target = (
        sys.argv[1]
        if len(sys.argv) > 1
        else str(Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml")
    )
    print(f"{target}: {'rewritten' if write_schema(target) else 'up to date'}")
