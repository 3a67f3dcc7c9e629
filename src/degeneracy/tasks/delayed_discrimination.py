"""Delayed discrimination (SPEC section 2)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import Batch, Task, TaskConfigError, _check_int, uniform


@dataclass(frozen=True)
class DelayedDiscrimination(Task):
    """Per channel: a pulse of amplitude ``input_scale * f1`` for ``pulse_steps`` steps starting at
    ``stim_onset``, a delay of d ~ U{``delay_min``..``delay_max``} steps, a pulse ``input_scale * f2``,
    then a ``response_steps`` window in which the output must be sign(f2 - f1) (and, with
    ``auxiliary``, a second output (f2 - f1)/8). f1, f2 ~ U[``f_low``, ``f_high``] with
    |f2 - f1| >= ``min_gap``. With ``mask_response`` the loss is masked to the window; otherwise the
    target is 0 outside it and every step counts. OOD: both delay bounds x2.

    Output layout: channels 0..C-1 are the signs, C..2C-1 the auxiliary magnitudes.
    """

    name = "delayed_discrimination"
    threshold = 1e-2
    default_lr = 1e-3

    n_channels: int = 1
    delay_min: int = 5
    delay_max: int = 20
    stim_onset: int = 5
    pulse_steps: int = 5
    response_steps: int = 10
    f_low: float = 2.0
    f_high: float = 10.0
    min_gap: float = 1.0
    input_scale: float = 0.1
    auxiliary: bool = False
    mask_response: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_int(self, "delay_min", self.delay_min, minimum=0)
        _check_int(self, "delay_max", self.delay_max, minimum=0)
        if self.delay_min > self.delay_max:
            raise TaskConfigError(
                f"task 'delayed_discrimination': delay range [{self.delay_min}, {self.delay_max}] "
                "is invalid; need delay_min <= delay_max"
            )
        for key in ("stim_onset", "pulse_steps", "response_steps"):
            _check_int(self, key, getattr(self, key), minimum=0 if key == "stim_onset" else 1)
        if not self.f_low < self.f_high or self.min_gap >= self.f_high - self.f_low:
            raise TaskConfigError(
                f"task 'delayed_discrimination': f range [{self.f_low}, {self.f_high}] with "
                f"min_gap={self.min_gap} is invalid; need f_low < f_high and min_gap < f_high - f_low"
            )

    @property
    def n_outputs(self) -> int:
        return self.n_channels * (2 if self.auxiliary else 1)

    def trial_length(self, ood: bool = False) -> int:
        """Number of time steps of a trial (fits the longest delay)."""
        scale = 2 if ood else 1
        return self.stim_onset + 2 * self.pulse_steps + scale * self.delay_max + self.response_steps

    def sample(self, batch: int, generator: torch.Generator, ood: bool = False) -> Batch:
        scale = 2 if ood else 1
        T = self.trial_length(ood)
        shape = (batch, 1, self.n_channels)
        f1 = uniform(shape, generator, self.f_low, self.f_high)
        f2 = uniform(shape, generator, self.f_low, self.f_high)
        bad = (f2 - f1).abs() < self.min_gap
        while bad.any():  # rejection sampling, vectorised
            f2 = torch.where(bad, uniform(shape, generator, self.f_low, self.f_high), f2)
            bad = (f2 - f1).abs() < self.min_gap
        delay = torch.randint(scale * self.delay_min, scale * self.delay_max + 1, shape, generator=generator)
        t = torch.arange(T).view(1, T, 1)
        on1 = self.stim_onset
        on2 = on1 + self.pulse_steps + delay
        resp = on2 + self.pulse_steps
        pulse1 = (t >= on1) & (t < on1 + self.pulse_steps)
        pulse2 = (t >= on2) & (t < resp)
        window = ((t >= resp) & (t < resp + self.response_steps)).float()
        x = self.input_scale * (pulse1 * f1 + pulse2 * f2)
        ys = [window * torch.sign(f2 - f1)]
        if self.auxiliary:
            ys.append(window * (f2 - f1) / 8.0)
        y = torch.cat(ys, dim=2)
        mask = window if self.mask_response else torch.ones_like(window)
        mask = mask.expand(batch, T, self.n_channels).repeat(1, 1, y.shape[2] // self.n_channels)
        return x.float(), y.float(), mask.contiguous().float()
