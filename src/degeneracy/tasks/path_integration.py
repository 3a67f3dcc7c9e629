"""Path integration in 2D or 3D."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .base import Batch, Task, knob, uniform


@dataclass(frozen=True)
class PathIntegration(Task):
    """Per channel, an agent starts at a uniform random point of the box [-``box``, ``box``]^dim
    (given as input on step 0 only) and moves with speed s_t ~ U[0, ``speed_max``] along a heading
    that does a smooth random walk (increments N(0, ``turn_sd``^2) rad per step; 2D: angle theta;
    3D: azimuth theta and elevation phi). Walls reflect: a coordinate that leaves the box is mirrored
    back and the heading is mirrored with it. Output: the position at each step (p_0 = start,
    p_t = reflect(p_{t-1} + s_t u(heading_t))). Mask: all ones. OOD: trial length x2.

    Input layout per channel: [start (dim), cos theta, sin theta, (3D: cos phi, sin phi), speed].
    """

    name = "path_integration"
    threshold = 5e-2
    default_lr = 1e-3

    ood_description = "trials twice as long (2T steps); training never sees t >= T"

    n_channels: int = knob(1, kind=int, minimum=1, doc="independent agents")
    dim: int = knob(2, kind=int, choices=(2, 3), doc="2-D or 3-D space")
    T: int = knob(50, kind=int, minimum=2, doc="trial length (steps)")
    box: float = knob(5.0, exclusive_minimum=0.0, doc="half-width of the box")
    speed_max: float = knob(0.5, minimum=0.0, doc="largest speed (box units per step)")
    turn_sd: float = knob(0.3, minimum=0.0, doc="heading random-walk SD (rad per step)")

    def check(self) -> None:
        if not self.speed_max < self.box:
            raise self.error(f"box={self.box}, speed_max={self.speed_max} are invalid; allowed: speed_max < box")

    def n_steps(self, ood: bool = False) -> int:
        return self.T * (2 if ood else 1)

    @property
    def inputs_per_channel(self) -> int:
        return self.dim + (2 if self.dim == 2 else 4) + 1

    @property
    def n_inputs(self) -> int:
        return self.n_channels * self.inputs_per_channel

    @property
    def n_outputs(self) -> int:
        return self.n_channels * self.dim

    def sample(self, batch: int, generator, ood: bool = False) -> Batch:
        import torch

        T = self.n_steps(ood)
        B, C, D, L = batch, self.n_channels, self.dim, self.box
        pos = uniform((B, C, D), generator, -L, L)
        theta = uniform((B, C), generator, -math.pi, math.pi)
        phi = uniform((B, C), generator, -math.pi / 4, math.pi / 4) if D == 3 else None
        speed = uniform((B, T, C), generator, 0.0, self.speed_max)
        speed[:, 0] = 0.0
        turns = self.turn_sd * torch.randn((B, T, C, 2), generator=generator)
        headings = torch.zeros(B, T, C, 2)
        positions = torch.zeros(B, T, C, D)
        positions[:, 0] = pos
        for t in range(T):  # the walk depends on wall hits, so it is sequential in time only
            if t > 0:
                theta = theta + turns[:, t, :, 0]
                if phi is not None:
                    phi = (phi + turns[:, t, :, 1]).clamp(-math.pi / 2, math.pi / 2)
            headings[:, t, :, 0] = theta
            if phi is not None:
                headings[:, t, :, 1] = phi
            if t == 0:
                continue
            if D == 2:
                u = torch.stack([torch.cos(theta), torch.sin(theta)], dim=-1)
            else:
                u = torch.stack(
                    [torch.cos(phi) * torch.cos(theta), torch.cos(phi) * torch.sin(theta), torch.sin(phi)], dim=-1
                )
            pos = pos + speed[:, t].unsqueeze(-1) * u
            hi, lo = pos > L, pos < -L
            pos = torch.where(hi, 2 * L - pos, torch.where(lo, -2 * L - pos, pos))
            hit = hi | lo
            # mirror the heading on the axes whose wall was hit
            theta = torch.where(hit[..., 0], math.pi - theta, theta)
            theta = torch.where(hit[..., 1], -theta, theta)
            if phi is not None:
                phi = torch.where(hit[..., 2], -phi, phi)
            positions[:, t] = pos
        start = torch.zeros(B, T, C, D)
        start[:, 0] = positions[:, 0]
        th = headings[..., 0]
        parts = [start, torch.cos(th).unsqueeze(-1), torch.sin(th).unsqueeze(-1)]
        if D == 3:
            ph = headings[..., 1]
            parts += [torch.cos(ph).unsqueeze(-1), torch.sin(ph).unsqueeze(-1)]
        parts.append(speed.unsqueeze(-1))
        x = torch.cat(parts, dim=-1).reshape(B, T, C * self.inputs_per_channel)
        y = positions.reshape(B, T, C * D)
        return x, y, torch.ones_like(y)
