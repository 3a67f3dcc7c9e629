"""Task generators, looked up by name.

>>> task = make_task("flipflop", n_channels=3)
>>> x, y, mask = task.sample(64, torch.Generator().manual_seed(0))   # each (64, 100, 3)
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import torch

from .base import Batch, Task, TaskConfigError
from .delayed_discrimination import DelayedDiscrimination
from .flipflop import FlipFlop
from .path_integration import PathIntegration
from .sine import Sine

TASKS: dict[str, type[Task]] = {
    cls.name: cls for cls in (FlipFlop, DelayedDiscrimination, Sine, PathIntegration)
}

__all__ = ["TASKS", "Task", "TaskConfigError", "Batch", "make_task", "task_knobs", "probe_batch"]


def task_knobs(name: str) -> dict[str, Any]:
    """The knobs of task ``name`` with their defaults."""
    return {f.name: f.default for f in fields(_lookup(name))}


def _lookup(name: str) -> type[Task]:
    if name not in TASKS:
        raise TaskConfigError(f"unknown task {name!r}; valid tasks: {sorted(TASKS)}")
    return TASKS[name]


def make_task(name: str, **knobs: Any) -> Task:
    """Build task ``name`` with ``knobs`` (unspecified knobs take their defaults).

    Raises :class:`TaskConfigError` naming an unknown task or knob and the valid choices.
    """
    cls = _lookup(name)
    valid = [f.name for f in fields(cls)]
    unknown = sorted(set(knobs) - set(valid))
    if unknown:
        raise TaskConfigError(f"task {name!r}: unknown knob(s) {unknown}; valid knobs: {valid}")
    return cls(**knobs)


def probe_batch(task: Task, n_trials: int, seed: int, ood: bool = False) -> Batch:
    """A fixed batch of ``n_trials`` trials drawn with ``seed``: the same for every network of a
    condition (used for trajectories, OOD behavior and the tangent kernel)."""
    return task.sample(n_trials, torch.Generator().manual_seed(int(seed)), ood=ood)
