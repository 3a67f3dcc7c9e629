"""Next-step prediction of the chaotic Lorenz-96 system.

Lorenz-96 with ``n`` variables on a ring (indices mod n) and forcing ``F``:

    dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F.

The quadratic term only moves energy around the ring, the linear term dissipates it and F feeds
it in, so every trajectory falls onto a bounded attractor, chaotic for F = 8 and n >= 5. The
attractor's dimension grows with n, which makes ``n_vars`` the task's complexity knob.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .base import Batch, Task, knob

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = ["Lorenz96", "attractor_states", "lorenz96_rhs", "rk4_integrate"]

#: Largest RK4 step (model time units); a sampling interval dt is split into ceil(dt / MAX_STEP).
MAX_STEP = 0.025

# The bank of start states on the attractor: how many trajectories, the burn-in before the first
# snapshot and the spacing of snapshots (model time units; several Lyapunov times, so snapshots of
# one trajectory are decorrelated), and the fixed seed that makes the bank the same in every process.
_BANK_TRAJECTORIES = 512
_BANK_SNAPSHOTS = 32
_BANK_BURN_IN = 10.0
_BANK_SPACING = 2.0
_BANK_SEED = 96
# Relative size of the perturbation added to a bank state, so that two trials drawn from the same
# bank state separate within a few Lyapunov times.
_START_JITTER = 1e-2


def lorenz96_rhs(x: torch.Tensor, forcing: float) -> torch.Tensor:
    """dx/dt of Lorenz-96 for states ``x`` (..., n) (the ring is the last axis); same shape/dtype."""
    import torch

    return (torch.roll(x, -1, -1) - torch.roll(x, 2, -1)) * torch.roll(x, 1, -1) - x + forcing


def rk4_integrate(
    x0: torch.Tensor, forcing: float, dt: float, n_samples: int, max_step: float = MAX_STEP
) -> torch.Tensor:
    """Classical fourth-order Runge-Kutta from ``x0`` (batch, n), vectorised over the batch.

    Each sampling interval ``dt`` (model time units) is split into ceil(dt / max_step) equal RK4
    steps. Returns (batch, n_samples, n): the states at times 0, dt, ..., (n_samples - 1) dt,
    in the dtype of ``x0``.
    """
    k = max(1, math.ceil(dt / max_step - 1e-9))
    h = dt / k
    out = x0.new_empty(x0.shape[0], n_samples, x0.shape[1])
    x = x0
    out[:, 0] = x
    for s in range(1, n_samples):
        for _ in range(k):
            k1 = lorenz96_rhs(x, forcing)
            k2 = lorenz96_rhs(x + 0.5 * h * k1, forcing)
            k3 = lorenz96_rhs(x + 0.5 * h * k2, forcing)
            k4 = lorenz96_rhs(x + h * k3, forcing)
            x = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        out[:, s] = x
    return out


@lru_cache(maxsize=8)
def attractor_states(n_vars: int, forcing: float) -> tuple[torch.Tensor, float, float]:
    """A fixed bank of float64 states (n_bank, n_vars) on the attractor, with the attractor's mean
    and standard deviation over all variables (model units). Built once per process from a fixed
    seed: ``_BANK_TRAJECTORIES`` trajectories from x = F + N(0, 1) after a burn-in, sampled
    ``_BANK_SNAPSHOTS`` times ``_BANK_SPACING`` apart."""
    import torch

    g = torch.Generator().manual_seed(_BANK_SEED)
    x = forcing + torch.randn(_BANK_TRAJECTORIES, n_vars, generator=g, dtype=torch.float64)
    x = rk4_integrate(x, forcing, _BANK_BURN_IN, 2, max_step=2 * MAX_STEP)[:, -1]
    snaps = rk4_integrate(x, forcing, _BANK_SPACING, _BANK_SNAPSHOTS + 1, max_step=2 * MAX_STEP)[:, 1:]
    bank = snaps.reshape(-1, n_vars).contiguous()
    return bank, float(bank.mean()), float(bank.std())


@dataclass(frozen=True)
class Lorenz96(Task):
    """Each channel is an independent Lorenz-96 system of ``n_vars`` variables, observed every
    ``dt`` time units. Input at step t: the standardised state z_t; target: z_{t + horizon}.
    z = (x - m) / s with m, s the attractor's mean and SD (per task, from a fixed trajectory bank),
    so inputs and targets are O(1). Training trials start at a random state on the attractor.
    Mask: all ones.

    OOD: new initial conditions off the attractor. Each variable starts at
    m + ``ood_scale`` * s * N(0, 1), with no burn-in, so the trial opens with a transient through
    states whose scale (about ``ood_scale`` attractor SDs) training never visits.

    Input layout: channel c occupies inputs c * n_vars .. (c + 1) * n_vars - 1; outputs likewise.
    """

    name = "lorenz96"
    threshold = 2e-3
    default_lr = 3e-3
    ood_description = (
        "new initial conditions off the attractor: states start at ood_scale attractor SDs "
        "and relax onto it; training only sees states on the attractor"
    )

    n_channels: int = knob(1, kind=int, minimum=1, doc="independent Lorenz-96 systems")
    n_vars: int = knob(5, kind=int, minimum=4, doc="variables on the ring (complexity)")
    forcing: float = knob(8.0, exclusive_minimum=0.0, doc="forcing F (model units)")
    dt: float = knob(0.05, exclusive_minimum=0.0, doc="sampling interval (model time units)")
    T: int = knob(50, kind=int, minimum=2, doc="trial length (steps)")
    horizon: int = knob(1, kind=int, minimum=1, doc="steps ahead to predict")
    ood_scale: float = knob(3.0, exclusive_minimum=0.0, doc="OOD start spread (attractor SDs)")

    @property
    def n_inputs(self) -> int:
        return self.n_channels * self.n_vars

    @property
    def n_outputs(self) -> int:
        return self.n_channels * self.n_vars

    def n_steps(self, ood: bool = False) -> int:
        return self.T

    def attractor_scale(self) -> tuple[float, float]:
        """(mean, SD) of the attractor's states (model units), used to standardise."""
        _, mean, sd = attractor_states(self.n_vars, float(self.forcing))
        return mean, sd

    def initial_states(self, batch: int, generator: torch.Generator, ood: bool = False) -> torch.Tensor:
        """Start states (batch * n_channels, n_vars), float64 in model units: bank states on the
        attractor with a small jitter, or (``ood``) draws m + ood_scale * s * N(0, 1)."""
        import torch

        bank, mean, sd = attractor_states(self.n_vars, float(self.forcing))
        m = batch * self.n_channels
        if ood:
            return mean + self.ood_scale * sd * torch.randn(m, self.n_vars, generator=generator, dtype=torch.float64)
        idx = torch.randint(bank.shape[0], (m,), generator=generator)
        jitter = _START_JITTER * sd * torch.randn(m, self.n_vars, generator=generator, dtype=torch.float64)
        return bank[idx] + jitter

    def sample(self, batch: int, generator, ood: bool = False) -> Batch:
        import torch

        T, C, n = self.n_steps(ood), self.n_channels, self.n_vars
        x0 = self.initial_states(batch, generator, ood)
        traj = rk4_integrate(x0, float(self.forcing), float(self.dt), T + self.horizon)
        mean, sd = self.attractor_scale()
        z = ((traj - mean) / sd).float().reshape(batch, C, T + self.horizon, n)
        z = z.permute(0, 2, 1, 3)  # (batch, time, channel, var)
        x = z[:, :T].reshape(batch, T, C * n).contiguous()
        y = z[:, self.horizon :].reshape(batch, T, C * n).contiguous()
        return x, y, torch.ones_like(y)
