"""N-bit flip-flop (SPEC section 2)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import Batch, Task, _check_int, _check_range


@dataclass(frozen=True)
class FlipFlop(Task):
    """Each channel receives pulses of +1 or -1 (probability ``p_switch`` per step, one forced at
    t=0 when ``force_first``) and must output the sign of its last pulse. Mask: all ones.
    OOD: trial length ``T`` x2."""

    name = "flipflop"
    threshold = 1e-3
    default_lr = 3e-3

    n_channels: int = 3
    T: int = 100
    p_switch: float = 0.05
    force_first: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_int(self, "T", self.T, minimum=2)
        _check_range(self, "p_switch", self.p_switch, 0.0, 1.0)

    def sample(self, batch: int, generator: torch.Generator, ood: bool = False) -> Batch:
        T = self.T * (2 if ood else 1)
        shape = (batch, T, self.n_channels)
        pulse = torch.rand(shape, generator=generator) < self.p_switch
        if self.force_first:
            pulse[:, 0] = True
        sign = torch.where(torch.rand(shape, generator=generator) < 0.5, -1.0, 1.0)
        x = pulse.float() * sign
        # Output holds the last pulse: index of the last pulse up to t, via a running max.
        t_idx = torch.arange(T).view(1, T, 1).expand(shape)
        last = torch.where(pulse, t_idx, torch.full_like(t_idx, -1)).cummax(dim=1).values
        y = torch.where(last >= 0, x.gather(1, last.clamp(min=0)), torch.zeros(()))
        return x, y, torch.ones(shape)
