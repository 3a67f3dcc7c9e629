"""Sine-wave generation."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .base import Batch, Task, knob


@dataclass(frozen=True)
class Sine(Task):
    """Each channel gets a static input ``f/30 + 0.25`` and must output ``sin(2 pi f t dt)``,
    t = 0..T-1, with f drawn from ``n_freq`` evenly spaced values in [``f_min``, ``f_max``] (Hz).
    Mask: all ones."""

    name = "sine"
    threshold = 5e-2
    default_lr = 1e-3
    ood_description = "trials twice as long (2T steps); training never sees t >= T"

    n_channels: int = knob(1, kind=int, minimum=1, doc="independent sine generators")
    T: int = knob(200, kind=int, minimum=2, doc="trial length (steps)")
    dt: float = knob(0.005, exclusive_minimum=0.0, doc="time step (s)")
    n_freq: int = knob(10, kind=int, minimum=1, doc="number of target frequencies")
    f_min: float = knob(1.0, exclusive_minimum=0.0, doc="lowest frequency (Hz)")
    f_max: float = knob(30.0, exclusive_minimum=0.0, doc="highest frequency (Hz)")

    def check(self) -> None:
        if not self.f_min <= self.f_max:
            raise self.error(f"f_min={self.f_min!r} > f_max={self.f_max!r}; allowed: 0 < f_min <= f_max")

    def n_steps(self, ood: bool = False) -> int:
        return self.T * (2 if ood else 1)

    def frequencies(self):
        """The ``n_freq`` frequencies (Hz), a float32 tensor."""
        import torch

        return torch.linspace(self.f_min, self.f_max, self.n_freq)

    def sample(self, batch: int, generator, ood: bool = False) -> Batch:
        import torch

        T = self.n_steps(ood)
        idx = torch.randint(self.n_freq, (batch, 1, self.n_channels), generator=generator)
        f = self.frequencies()[idx]
        x = (f / 30.0 + 0.25).expand(batch, T, self.n_channels).clone()
        t = torch.arange(T, dtype=torch.float64).view(1, T, 1)
        y = torch.sin(2 * math.pi * f.double() * t * self.dt).float()
        return x, y, torch.ones_like(y)
