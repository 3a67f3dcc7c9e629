"""Adam for stacked parameters: each member its own moments, step count and learning rate."""

from __future__ import annotations

import math

import torch


class StackedAdam:
    """Adam (PyTorch's defaults: betas 0.9/0.999, eps 1e-8, no weight decay) over tensors whose axis 0
    indexes ensemble members.

    Member k's update is the one ``torch.optim.Adam`` would make for member k alone with learning rate
    ``lrs[k]`` at its own step count; members outside ``active`` are left untouched (weights and
    moments), so a member can be paused. :meth:`keep` drops members from the state.
    """

    def __init__(
        self, params: list[torch.Tensor], lrs: list[float], betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8
    ) -> None:
        self.params = list(params)
        self.lrs = [float(v) for v in lrs]
        self.steps = [0] * len(self.lrs)
        self.betas, self.eps = betas, eps
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def keep(self, members: list[int], params: list[torch.Tensor]) -> None:
        """Keep only the listed members' state (in that order); ``params`` are the new stacked tensors."""
        idx = torch.tensor(members, dtype=torch.long, device=self.exp_avg[0].device)
        self.params = list(params)
        self.exp_avg = [m.index_select(0, idx) for m in self.exp_avg]
        self.exp_avg_sq = [v.index_select(0, idx) for v in self.exp_avg_sq]
        self.lrs = [self.lrs[k] for k in members]
        self.steps = [self.steps[k] for k in members]

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor], active: list[bool] | None = None) -> None:
        """One Adam step with ``grads`` (same shapes as the parameters) for the ``active`` members."""
        K = len(self.lrs)
        active = [True] * K if active is None else list(active)
        if not any(active):
            return
        b1, b2 = self.betas
        step_size, bc2_sqrt = [], []
        for k in range(K):
            if active[k]:
                self.steps[k] += 1
            t = max(self.steps[k], 1)
            step_size.append(self.lrs[k] / (1 - b1**t))
            bc2_sqrt.append(math.sqrt(1 - b2**t))
        dev, dtype = self.params[0].device, self.params[0].dtype
        size = torch.tensor(step_size, dtype=dtype, device=dev)
        corr = torch.tensor(bc2_sqrt, dtype=dtype, device=dev)
        if all(active):
            idx = None
        else:
            idx = torch.tensor([k for k in range(K) if active[k]], dtype=torch.long, device=dev)
            size, corr = size[idx], corr[idx]
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq):
            shape = (-1,) + (1,) * (p.dim() - 1)
            if idx is None:
                m.lerp_(g, 1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                denom = (v.sqrt() / corr.view(shape)).add_(self.eps)
                p.sub_(m / denom * size.view(shape))
            else:
                mk = m[idx].lerp_(g[idx], 1 - b1)
                vk = v[idx].mul_(b2).addcmul_(g[idx], g[idx], value=1 - b2)
                denom = (vk.sqrt() / corr.view(shape)).add_(self.eps)
                m[idx], v[idx] = mk, vk
                p[idx] = p[idx] - mk / denom * size.view(shape)
