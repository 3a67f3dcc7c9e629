"""Common machinery of the task generators."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import torch

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class TaskConfigError(ValueError):
    """A task name or knob is invalid; the message names the value and the valid choices."""


@dataclass(frozen=True)
class Task:
    """Base class: a task is a frozen set of knobs plus a vectorised sampler.

    Subclasses set ``name``, ``threshold`` (training MSE criterion), ``default_lr`` and
    implement :meth:`sample`, returning ``(x, y, mask)``, each float32 of shape
    (batch, time, channels).
    """

    name: ClassVar[str] = ""
    threshold: ClassVar[float] = 0.0
    default_lr: ClassVar[float] = 1e-3

    n_channels: int = 1

    def __post_init__(self) -> None:
        _check_int(self, "n_channels", self.n_channels, minimum=1)

    @property
    def n_inputs(self) -> int:
        """Input channels (default: one per task channel)."""
        return self.n_channels

    @property
    def n_outputs(self) -> int:
        """Output channels (default: one per task channel)."""
        return self.n_channels

    def sample(self, batch: int, generator: torch.Generator, ood: bool = False) -> Batch:
        """Draw ``batch`` fresh trials; ``ood=True`` gives the out-of-distribution variant."""
        raise NotImplementedError

    def knobs(self) -> dict[str, Any]:
        """The task's knobs as a plain dict (what the config stores)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _check_int(task: Task, key: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise TaskConfigError(
            f"task '{task.name}': {key}={value!r} is invalid; it must be an integer >= {minimum}"
        )


def _check_range(task: Task, key: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise TaskConfigError(
            f"task '{task.name}': {key}={value!r} is invalid; it must be a number in [{low}, {high}]"
        )


def uniform(shape: tuple[int, ...], generator: torch.Generator, low: float, high: float) -> torch.Tensor:
    """Float32 samples from U[low, high)."""
    return low + (high - low) * torch.rand(shape, generator=generator)
