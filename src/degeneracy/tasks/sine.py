"""Sine-wave generation (SPEC section 2)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .base import Batch, Task, TaskConfigError, _check_int


@dataclass(frozen=True)
class Sine(Task):
    """Each channel gets a static input ``f/30 + 0.25`` and must output ``sin(2 pi f t dt)``,
    t = 0..T-1, with f drawn from ``n_freq`` evenly spaced values in [``f_min``, ``f_max``] (Hz).
    Mask: all ones. OOD: trial length x2."""

    name = "sine"
    threshold = 5e-2
    default_lr = 1e-3

    n_channels: int = 1
    T: int = 200
    dt: float = 0.005
    n_freq: int = 10
    f_min: float = 1.0
    f_max: float = 30.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_int(self, "T", self.T, minimum=2)
        _check_int(self, "n_freq", self.n_freq, minimum=1)
        if not (isinstance(self.dt, (int, float)) and self.dt > 0):
            raise TaskConfigError(f"task 'sine': dt={self.dt!r} is invalid; it must be > 0 (seconds)")
        if not 0 < self.f_min <= self.f_max:
            raise TaskConfigError(
                f"task 'sine': f_min={self.f_min!r}, f_max={self.f_max!r} invalid; need 0 < f_min <= f_max"
            )

    def frequencies(self) -> torch.Tensor:
        """The ``n_freq`` frequencies (Hz), float32."""
        return torch.linspace(self.f_min, self.f_max, self.n_freq)

    def sample(self, batch: int, generator: torch.Generator, ood: bool = False) -> Batch:
        T = self.T * (2 if ood else 1)
        idx = torch.randint(self.n_freq, (batch, 1, self.n_channels), generator=generator)
        f = self.frequencies()[idx]
        x = (f / 30.0 + 0.25).expand(batch, T, self.n_channels).clone()
        t = torch.arange(T, dtype=torch.float64).view(1, T, 1)
        y = torch.sin(2 * math.pi * f.double() * t * self.dt).float()
        return x, y, torch.ones_like(y)
