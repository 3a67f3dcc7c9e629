"""N-bit flip-flop."""

from __future__ import annotations

from dataclasses import dataclass

from .base import Batch, Task, knob


@dataclass(frozen=True)
class FlipFlop(Task):
    """Each channel receives pulses of +1 or -1 (probability ``p_switch`` per step, one forced at
    t=0 when ``force_first``) and must output the sign of its last pulse. Mask: all ones."""

    name = "flipflop"
    threshold = 1e-3
    default_lr = 3e-3
    ood_description = "trials twice as long (2T steps); training never sees t >= T"
    sign_symmetric = True  # pulses of sign -s give targets -y

    n_channels: int = knob(3, kind=int, minimum=1, doc="independent flip-flop bits")
    T: int = knob(100, kind=int, minimum=2, doc="trial length (steps)")
    p_switch: float = knob(0.05, minimum=0.0, maximum=1.0, doc="pulse probability per step and channel")
    force_first: bool = knob(True, kind=bool, doc="a pulse on every channel at t = 0")

    def n_steps(self, ood: bool = False) -> int:
        return self.T * (2 if ood else 1)

    def sample(self, batch: int, generator, ood: bool = False) -> Batch:
        import torch

        T = self.n_steps(ood)
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
