"""Common machinery of the task generators: the ``Task`` base class and its knob declarations.

A task is a frozen dataclass. Each knob is a field declared with :func:`knob`, which records its
type and bounds; :meth:`Task.__post_init__` checks every knob against them, and
:meth:`Task.check` (overridden by a task) checks relations between knobs. These declarations are
the only statement of a task's knobs: the config validation, the docs table and the JSON schema
read them from the class. Task modules import torch only inside :meth:`Task.sample`, so the
workflow can check a config without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # pragma: no cover
    import torch

Batch = tuple["torch.Tensor", "torch.Tensor", "torch.Tensor"]

__all__ = ["Batch", "Task", "TaskConfigError", "knob", "knob_specs", "uniform"]


class TaskConfigError(ValueError):
    """A task name or knob is invalid; the message names the value and the valid choices."""


def knob(
    default: Any,
    *,
    kind: type = float,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: float | None = None,
    choices: tuple | None = None,
    doc: str = "",
) -> Any:
    """Declare a task knob: ``default``, its ``kind`` (int, float or bool), optional bounds
    (inclusive ``minimum``/``maximum``, ``exclusive_minimum``) or ``choices``, and a one-line
    ``doc`` (with units). Returns a dataclass field carrying this in its metadata."""
    spec = {
        "kind": kind,
        "minimum": minimum,
        "maximum": maximum,
        "exclusive_minimum": exclusive_minimum,
        "choices": choices,
        "doc": doc,
    }
    return field(default=default, metadata={"knob": spec})


def knob_specs(cls: type) -> dict[str, dict[str, Any]]:
    """``{knob name: spec}`` of a task class, spec = ``default`` plus the :func:`knob` arguments."""
    out = {}
    for f in fields(cls):
        spec = dict(f.metadata.get("knob", {"kind": type(f.default), "doc": ""}))
        spec["default"] = None if f.default is MISSING else f.default
        out[f.name] = spec
    return out


def _requirement(spec: dict[str, Any]) -> str:
    """English statement of what a knob spec allows, e.g. 'an integer >= 1'."""
    if spec.get("choices") is not None:
        return f"one of {list(spec['choices'])}"
    kind = spec["kind"]
    words = {int: "an integer", float: "a finite number", bool: "true or false"}[kind]
    bounds = []
    if spec.get("minimum") is not None:
        bounds.append(f">= {spec['minimum']}")
    if spec.get("exclusive_minimum") is not None:
        bounds.append(f"> {spec['exclusive_minimum']}")
    if spec.get("maximum") is not None:
        bounds.append(f"<= {spec['maximum']}")
    return " ".join([words, " and ".join(bounds)]).strip()


def _valid(value: Any, spec: dict[str, Any]) -> bool:
    kind = spec["kind"]
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if kind is int and not isinstance(value, int):
        return False
    if not math.isfinite(value):
        return False
    if spec.get("choices") is not None and value not in spec["choices"]:
        return False
    if spec.get("minimum") is not None and value < spec["minimum"]:
        return False
    if spec.get("exclusive_minimum") is not None and value <= spec["exclusive_minimum"]:
        return False
    if spec.get("maximum") is not None and value > spec["maximum"]:
        return False
    return True


@dataclass(frozen=True)
class Task:
    """Base class: a task is a frozen set of knobs plus a vectorised sampler.

    Subclasses set ``name``, ``threshold`` (training MSE criterion), ``default_lr``, declare their
    knobs with :func:`knob`, implement :meth:`sample` (returning ``(x, y, mask)``, each float32 of
    shape (batch, time, channels)) and :meth:`n_steps`, and may override :meth:`check` for
    relations between knobs and :attr:`ood_description` to say what their OOD set is.
    """

    name: ClassVar[str] = ""
    threshold: ClassVar[float] = 0.0
    default_lr: ClassVar[float] = 1e-3
    #: one line: how the out-of-distribution set differs from training
    ood_description: ClassVar[str] = ""
    #: whether negated inputs -x are valid inputs whose targets are -y (then the kernel-alignment
    #: probe pairs every trial with its sign-flipped copy, balancing the targets)
    sign_symmetric: ClassVar[bool] = False

    n_channels: int = knob(1, kind=int, minimum=1, doc="independent copies of the task")

    def __post_init__(self) -> None:
        for key, spec in knob_specs(type(self)).items():
            value = getattr(self, key)
            if not _valid(value, spec):
                raise TaskConfigError(
                    f"task '{self.name}': {key}={value!r} is invalid; it must be {_requirement(spec)}"
                )
        self.check()

    def check(self) -> None:
        """Relations between knobs; raise :class:`TaskConfigError` naming them when violated."""

    def error(self, message: str) -> TaskConfigError:
        """A :class:`TaskConfigError` prefixed with this task's name."""
        return TaskConfigError(f"task '{self.name}': {message}")

    @property
    def n_inputs(self) -> int:
        """Input channels (default: one per task channel)."""
        return self.n_channels

    @property
    def n_outputs(self) -> int:
        """Output channels (default: one per task channel)."""
        return self.n_channels

    @property
    def shared_outputs(self) -> int:
        """The first output channels that every level of a factor shares (behavior and the
        convergence test are computed on them); default: all outputs."""
        return self.n_outputs

    def n_steps(self, ood: bool = False) -> int:
        """Number of time steps of one trial (of the OOD variant with ``ood=True``)."""
        raise NotImplementedError

    def sample(self, batch: int, generator: "torch.Generator", ood: bool = False) -> Batch:
        """Draw ``batch`` fresh trials; ``ood=True`` gives the out-of-distribution variant."""
        raise NotImplementedError

    def knobs(self) -> dict[str, Any]:
        """The task's knobs as a plain dict (what the config stores)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def uniform(shape: tuple[int, ...], generator: "torch.Generator", low: float, high: float) -> "torch.Tensor":
    """Float32 samples from U[low, high)."""
    import torch

    return low + (high - low) * torch.rand(shape, generator=generator)
