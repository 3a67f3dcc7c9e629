"""Delayed discrimination."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Batch, Task, knob, uniform


@dataclass(frozen=True)
class DelayedDiscrimination(Task):
    """Per channel: a pulse of amplitude ``input_scale * f1`` for ``pulse_steps`` steps starting at
    ``stim_onset``, a delay of d ~ U{``delay_min``..``delay_max``} steps, a pulse ``input_scale * f2``,
    then a ``response_steps`` window in which the output must be sign(f2 - f1) (and, with
    ``auxiliary``, a second output (f2 - f1)/8). f1, f2 ~ U[``f_low``, ``f_high``] with
    |f2 - f1| >= ``min_gap``. With ``mask_response`` the loss is masked to the window; otherwise the
    target is 0 outside it and every step counts.

    Output layout: channels 0..C-1 are the signs, C..2C-1 the auxiliary magnitudes. The signs are
    the outputs every level of the auxiliary factor shares (:attr:`shared_outputs`).
    """

    name = "delayed_discrimination"
    threshold = 1e-2
    default_lr = 1e-3
    ood_description = "delays d ~ U{delay_max+1..2 delay_max}: every OOD delay is longer than any training delay"

    n_channels: int = knob(1, kind=int, minimum=1, doc="independent comparisons")
    delay_min: int = knob(5, kind=int, minimum=0, doc="shortest training delay (steps)")
    delay_max: int = knob(20, kind=int, minimum=1, doc="longest training delay (steps)")
    stim_onset: int = knob(5, kind=int, minimum=0, doc="first pulse onset (step)")
    pulse_steps: int = knob(5, kind=int, minimum=1, doc="pulse duration (steps)")
    response_steps: int = knob(10, kind=int, minimum=1, doc="response window (steps)")
    f_low: float = knob(2.0, doc="lowest stimulus frequency")
    f_high: float = knob(10.0, doc="highest stimulus frequency")
    min_gap: float = knob(1.0, minimum=0.0, doc="smallest |f2 - f1|")
    input_scale: float = knob(0.1, doc="input amplitude per unit frequency")
    auxiliary: bool = knob(False, kind=bool, doc="second output: the magnitude (f2 - f1)/8")
    mask_response: bool = knob(True, kind=bool, doc="loss only in the response window")

    def check(self) -> None:
        if self.delay_min > self.delay_max:
            raise self.error(
                f"delay range delay_min={self.delay_min} > delay_max={self.delay_max}; allowed: delay_min <= delay_max"
            )
        if not (self.f_low < self.f_high and self.min_gap < self.f_high - self.f_low):
            raise self.error(
                f"f_low={self.f_low}, f_high={self.f_high}, min_gap={self.min_gap} are invalid; "
                "allowed: f_low < f_high and min_gap < f_high - f_low"
            )

    @property
    def n_outputs(self) -> int:
        return self.n_channels * (2 if self.auxiliary else 1)

    @property
    def shared_outputs(self) -> int:
        return self.n_channels

    def delay_range(self, ood: bool = False) -> tuple[int, int]:
        """Inclusive (shortest, longest) delay in steps: training or OOD (disjoint from training)."""
        if ood:
            return self.delay_max + 1, 2 * self.delay_max
        return self.delay_min, self.delay_max

    def n_steps(self, ood: bool = False) -> int:
        """Number of time steps of a trial (fits the longest delay)."""
        return self.stim_onset + 2 * self.pulse_steps + self.delay_range(ood)[1] + self.response_steps

    def trial_length(self, ood: bool = False) -> int:
        """Alias of :meth:`n_steps`."""
        return self.n_steps(ood)

    def sample(self, batch: int, generator, ood: bool = False) -> Batch:
        import torch

        T = self.n_steps(ood)
        shape = (batch, 1, self.n_channels)
        f1 = uniform(shape, generator, self.f_low, self.f_high)
        f2 = uniform(shape, generator, self.f_low, self.f_high)
        bad = (f2 - f1).abs() < self.min_gap
        while bad.any():  # rejection sampling, vectorised
            f2 = torch.where(bad, uniform(shape, generator, self.f_low, self.f_high), f2)
            bad = (f2 - f1).abs() < self.min_gap
        d_lo, d_hi = self.delay_range(ood)
        delay = torch.randint(d_lo, d_hi + 1, shape, generator=generator)
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
