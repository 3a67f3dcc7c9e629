"""Task generators, looked up by name.

>>> task = make_task("flipflop", n_channels=3)
>>> x, y, mask = task.sample(64, torch.Generator().manual_seed(0))   # each (64, 100, 3)

A task of your own needs no edit of this package: write a subclass of :class:`Task` (see
``docs/own_task.md``) and name it in a config by import path, ``task: {name: "my_pkg.tasks:MyTask"}``.
Importing this package does not import torch (the workflow checks configs without it).
"""

from __future__ import annotations

import importlib
from dataclasses import fields
from typing import Any

from .base import Batch, Task, TaskConfigError, knob, knob_specs
from .delayed_discrimination import DelayedDiscrimination
from .flipflop import FlipFlop
from .lorenz96 import Lorenz96
from .path_integration import PathIntegration
from .sine import Sine

#: The built-in tasks by name. Each entry's module is ``degeneracy/tasks/<name>.py``.
TASKS: dict[str, type[Task]] = {
    cls.name: cls for cls in (FlipFlop, DelayedDiscrimination, Sine, PathIntegration, Lorenz96)
}

__all__ = [
    "TASKS",
    "Task",
    "TaskConfigError",
    "Batch",
    "knob",
    "knob_specs",
    "make_task",
    "task_class",
    "task_knobs",
    "probe_batch",
]


def task_class(name: str) -> type[Task]:
    """The class of task ``name``: a built-in name (``TASKS``) or an import path ``module:Class``
    naming a :class:`Task` subclass. Raises :class:`TaskConfigError` naming what is wrong."""
    if name in TASKS:
        return TASKS[name]
    if isinstance(name, str) and ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise TaskConfigError(
                f"task {name!r}: cannot import module {module_name!r} ({exc}); put it on PYTHONPATH or install it"
            ) from None
        cls = getattr(module, attr, None)
        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise TaskConfigError(
                f"task {name!r}: {attr!r} in {module_name!r} is not a subclass of degeneracy.tasks.Task"
            )
        return cls
    raise TaskConfigError(f"unknown task {name!r}; valid tasks: {sorted(TASKS)} or an import path 'module:Class'")


def task_knobs(name: str) -> dict[str, Any]:
    """The knobs of task ``name`` with their defaults."""
    return {f.name: f.default for f in fields(task_class(name))}


def make_task(name: str, **knobs: Any) -> Task:
    """Build task ``name`` with ``knobs`` (unspecified knobs take their defaults).

    Raises :class:`TaskConfigError` naming an unknown task or knob and the valid choices.
    """
    cls = task_class(name)
    valid = [f.name for f in fields(cls)]
    unknown = sorted(set(knobs) - set(valid))
    if unknown:
        raise TaskConfigError(f"task {name!r}: unknown knob(s) {unknown}; valid knobs: {valid}")
    return cls(**knobs)


def probe_batch(task: Task, n_trials: int, seed: int, ood: bool = False) -> Batch:
    """A fixed batch of ``n_trials`` trials drawn with ``seed``: the same for every network of a
    condition (used for trajectories, OOD behavior and the tangent kernel)."""
    import torch

    return task.sample(n_trials, torch.Generator().manual_seed(int(seed)), ood=ood)
