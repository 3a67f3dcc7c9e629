"""An example task defined outside the package (docs/own_task.md).

Use it from a study config by import path, with this folder on PYTHONPATH::

    PYTHONPATH=examples snakemake --cores 2 --configfile configs/test.yaml configs/own_task.yaml
"""

from __future__ import annotations

from dataclasses import dataclass

from degeneracy.tasks import Task, knob


@dataclass(frozen=True)
class Integrator(Task):
    """Each channel receives white noise x_t ~ N(0, ``noise_sd``^2) and must output its running
    sum scaled by ``gain``: y_t = gain * (x_0 + ... + x_t). Mask: all ones. OOD: trials twice as
    long, so the network must keep integrating past any time it was trained on."""

    name = "integrator"
    threshold = 1e-2  # training MSE criterion
    default_lr = 3e-3
    ood_description = "trials twice as long (2T steps)"

    n_channels: int = knob(1, kind=int, minimum=1, doc="independent integrators")
    T: int = knob(30, kind=int, minimum=2, doc="trial length (steps)")
    noise_sd: float = knob(0.3, exclusive_minimum=0.0, doc="input noise SD")
    gain: float = knob(0.2, exclusive_minimum=0.0, doc="output scale")

    def check(self) -> None:  # relations between knobs (none needed here, shown for the pattern)
        if self.gain * self.noise_sd * self.T**0.5 > 10:
            raise self.error("gain * noise_sd * sqrt(T) > 10: targets would leave the tanh range")

    def n_steps(self, ood: bool = False) -> int:
        return self.T * (2 if ood else 1)

    def sample(self, batch: int, generator, ood: bool = False):
        import torch  # imported here so that checking a config never needs torch

        shape = (batch, self.n_steps(ood), self.n_channels)
        x = self.noise_sd * torch.randn(shape, generator=generator)
        y = self.gain * x.cumsum(dim=1)
        return x, y, torch.ones(shape)
