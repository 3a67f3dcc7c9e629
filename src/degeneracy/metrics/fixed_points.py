"""Fixed and slow points of a trained network's one-step update, with their linear stability.

With the input held at a constant ``x``, one step of the network is a map h -> F(h):

* standard: F(h) = tanh(W_h h + W_x x + b_ih + b_hh) (the state is the post-tanh activity);
* muP:      F(h) = h + tau(-h + J tanh(h) / N + U x) (the state is the pre-tanh potential).

Fixed points solve F(h) = h; slow points are local minima of the speed q(h) = 1/2 |F(h) - h|^2
with a small non-zero q. They are found by minimising q from many probe states at once with a
batched Levenberg-Marquardt iteration on the residual G(h) = F(h) - h, using the explicit
Jacobian of F (q is a least-squares objective, so this converges quadratically to true fixed
points and still settles at the minima of q that are slow points).

Each point is classified by the eigenvalues lambda of the Jacobian dF/dh (discrete-time map):

* ``line_attractor_like``: exactly one eigenvalue within ``line_tol`` of 1 and every other
  |lambda| < 1 -- one mode whose time constant exceeds 1/line_tol steps, all others decaying;
* ``stable``: otherwise, every |lambda| < 1;
* ``saddle``: otherwise (at least one |lambda| >= 1: an unstable direction).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "CLASSES",
    "SUMMARY_COLUMNS",
    "FixedPoints",
    "classify_eigenvalues",
    "find_fixed_points",
    "fixed_point_summary",
    "fixed_points_from_checkpoint",
    "initial_states_from_trajectories",
    "step_map",
]

#: Class labels, in the order the summary counts them.
CLASSES = ("stable", "saddle", "line_attractor_like")

#: Columns (and dtypes) of the one-row summary of :func:`fixed_points_from_checkpoint`.
SUMMARY_COLUMNS: dict[str, str] = {
    "n_fixed_points": "int64",
    "n_stable": "int64",
    "n_saddle": "int64",
    "n_line_attractor_like": "int64",
    "frac_line_attractor_like": "float64",
}

StepFn = Callable[[torch.Tensor], torch.Tensor]

# Speed at which a probe counts as sitting on a root (float64 round-off level for O(1) states).
_Q_ROOT = 1e-26


@dataclass(frozen=True)
class FixedPoints:
    """Deduplicated fixed/slow points of one network, sorted by speed ``q`` (ascending).

    ``positions`` (k, n) float64 states (the model's state units: activity for standard,
    potential for muP); ``q`` (k,) speeds 1/2 |F(h) - h|^2 (squared state units per step);
    ``eigenvalues`` (k, n) complex128 eigenvalues of dF/dh at each point, sorted by decreasing
    modulus; ``labels`` (k,) class names from :data:`CLASSES`; ``n_probes``: how many initial
    states were optimised.
    """

    positions: np.ndarray
    q: np.ndarray
    eigenvalues: np.ndarray
    labels: np.ndarray
    n_probes: int

    def __len__(self) -> int:
        return int(self.positions.shape[0])


def step_map(model: torch.nn.Module, x_const: torch.Tensor | np.ndarray | float) -> tuple[StepFn, StepFn]:
    """The one-step update F of ``model`` with the input held at ``x_const`` and its Jacobian.

    ``x_const``: (n_inputs,) input vector, or a scalar broadcast to every input channel.
    Returns ``(F, jac)``: F maps states (B, n) -> (B, n); jac maps states (B, n) -> dF/dh
    (B, n, n) with ``jac(h)[b, i, j] = dF_i / dh_j``. Both compute in float64.
    """
    kind = getattr(model, "kind", None)
    if kind == "standard":
        W = model.rnn.weight_hh_l0.detach().double()
        Wx = model.rnn.weight_ih_l0.detach().double()
        bias = (model.rnn.bias_ih_l0 + model.rnn.bias_hh_l0).detach().double()
        drive = _input_vector(x_const, Wx.shape[1]) @ Wx.T + bias

        def F(h: torch.Tensor) -> torch.Tensor:
            return torch.tanh(h @ W.T + drive)

        def jac(h: torch.Tensor) -> torch.Tensor:
            return (1.0 - F(h) ** 2).unsqueeze(2) * W.unsqueeze(0)

        return F, jac
    if kind == "mup":
        J = model.J.detach().double()
        U = model.U.detach().double()
        tau, N = float(model.tau), int(model.n_units)
        a, c = 1.0 - tau, tau / N
        u = tau * (_input_vector(x_const, U.shape[1]) @ U.T)
        eye = torch.eye(N, dtype=torch.float64)

        def F(h: torch.Tensor) -> torch.Tensor:
            return a * h + c * torch.tanh(h) @ J.T + u

        def jac(h: torch.Tensor) -> torch.Tensor:
            return a * eye + c * J.unsqueeze(0) * (1.0 - torch.tanh(h) ** 2).unsqueeze(1)

        return F, jac
    raise ValueError(f"model kind {kind!r} is not supported; expected 'standard' or 'mup'")


def _input_vector(x_const: torch.Tensor | np.ndarray | float, n_inputs: int) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x_const, dtype=np.float64) if not isinstance(x_const, torch.Tensor) else x_const)
    x = x.detach().double().reshape(-1)
    if x.numel() == 1:
        x = x.expand(n_inputs)
    if x.numel() != n_inputs:
        raise ValueError(f"x_const has {x.numel()} entries; the model has {n_inputs} inputs")
    return x


def _minimise_speed(
    F: StepFn, jac: StepFn, h0: torch.Tensor, max_iter: int, q_stop: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched Levenberg-Marquardt on G(h) = F(h) - h; each probe has its own damping.

    Returns the final states (B, n) and their speeds q (B,).
    """
    h = h0.clone()
    n = h.shape[1]
    eye = torch.eye(n, dtype=torch.float64)
    G = F(h) - h
    q = 0.5 * (G * G).sum(1)
    mu = torch.full((h.shape[0],), 1e-3, dtype=torch.float64)
    active = q > q_stop
    for _ in range(max_iter):
        if not bool(active.any()):
            break
        idx = active.nonzero().squeeze(1)
        hi, Gi, mi = h[idx], G[idx], mu[idx]
        A = jac(hi) - eye  # dG/dh
        At = A.transpose(1, 2)
        H = At @ A
        g = (At @ Gi.unsqueeze(2)).squeeze(2)
        scale = torch.diagonal(H, dim1=1, dim2=2).mean(1).clamp(min=1e-12)
        step = torch.linalg.solve(H + (mi * scale).view(-1, 1, 1) * eye, -g)
        h_new = hi + step
        G_new = F(h_new) - h_new
        q_new = 0.5 * (G_new * G_new).sum(1)
        accept = q_new < q[idx]
        h[idx] = torch.where(accept.unsqueeze(1), h_new, hi)
        G[idx] = torch.where(accept.unsqueeze(1), G_new, Gi)
        q[idx] = torch.where(accept, q_new, q[idx])
        mu[idx] = torch.where(accept, (mi / 3.0).clamp(min=1e-12), mi * 4.0)
        # stop a probe at a root, or once its damping says no step improves q (a minimum of q)
        active = (q > q_stop) & (mu < 1e10)
    return h, q


def _deduplicate(h: torch.Tensor, q: torch.Tensor, tol: float) -> torch.Tensor:
    """Indices of the points kept: by increasing q, drop any within ``tol`` of a kept point."""
    order = torch.argsort(q)
    D = torch.cdist(h[order], h[order])
    kept: list[int] = []
    for i in range(order.numel()):
        if not kept or bool((D[i, kept] > tol).all()):
            kept.append(i)
    return order[torch.tensor(kept, dtype=torch.long)]


def classify_eigenvalues(eigenvalues: np.ndarray, line_tol: float = 0.05) -> np.ndarray:
    """Class label of each point from the eigenvalues of dF/dh (rows of ``eigenvalues`` (k, n)).

    ``line_attractor_like``: exactly one eigenvalue with |lambda - 1| <= ``line_tol`` and every
    other |lambda| < 1; else ``stable`` if every |lambda| < 1; else ``saddle``.
    Returns a (k,) array of strings.
    """
    ev = np.atleast_2d(np.asarray(eigenvalues, dtype=np.complex128))
    near_one = np.abs(ev - 1.0) <= line_tol
    inside = np.abs(ev) < 1.0
    line = (near_one.sum(1) == 1) & (inside | near_one).all(1)
    stable = inside.all(1)
    return np.where(line, "line_attractor_like", np.where(stable, "stable", "saddle")).astype(object)


def find_fixed_points(
    model: torch.nn.Module,
    x_const: torch.Tensor | np.ndarray | float,
    initial_states: torch.Tensor | np.ndarray,
    q_tol: float = 1e-6,
    dedup_tol: float = 1e-3,
    line_tol: float = 0.05,
    max_iter: int = 200,
) -> FixedPoints:
    """Fixed and slow points of ``model`` with the input held at ``x_const``.

    ``initial_states`` (B, n): probe states (e.g. from :func:`initial_states_from_trajectories`)
    from which q(h) = 1/2 |F(h) - h|^2 is minimised (batched Levenberg-Marquardt, float64,
    at most ``max_iter`` iterations). Minima with q <= ``q_tol`` (squared state units) are kept;
    points closer than ``dedup_tol`` (Euclidean, state units) are merged, keeping the slowest.
    ``line_tol`` is the distance to 1 under which an eigenvalue of dF/dh counts as a slow mode
    (see :func:`classify_eigenvalues`). Returns a :class:`FixedPoints`.
    """
    F, jac = step_map(model, x_const)
    h0 = torch.as_tensor(np.asarray(initial_states) if not isinstance(initial_states, torch.Tensor) else initial_states)
    h0 = h0.detach().double().reshape(-1, int(model.n_units))
    with torch.no_grad():
        h, q = _minimise_speed(F, jac, h0, max_iter, q_stop=_Q_ROOT)
        ok = torch.isfinite(q) & (q <= q_tol)
        h, q = h[ok], q[ok]
        if h.shape[0] > 0:
            keep = _deduplicate(h, q, dedup_tol)
            h, q = h[keep], q[keep]
            ev = torch.linalg.eigvals(jac(h)).numpy()
        else:
            ev = np.zeros((0, h0.shape[1]), dtype=np.complex128)
    order = np.argsort(-np.abs(ev), axis=1, kind="stable")
    ev = np.take_along_axis(ev, order, axis=1)
    labels = classify_eigenvalues(ev, line_tol) if len(ev) else np.zeros(0, dtype=object)
    return FixedPoints(h.numpy(), q.numpy(), ev, labels, int(h0.shape[0]))


def fixed_point_summary(fp: FixedPoints) -> dict[str, Any]:
    """Counts per class of ``fp``: ``n_fixed_points``, ``n_stable``, ``n_saddle``,
    ``n_line_attractor_like`` (ints) and ``frac_line_attractor_like`` = n_line_attractor_like /
    n_fixed_points (a fraction in [0, 1]; NaN when no point was found)."""
    counts = {c: int(np.sum(fp.labels == c)) for c in CLASSES}
    n = len(fp)
    return {
        "n_fixed_points": n,
        "n_stable": counts["stable"],
        "n_saddle": counts["saddle"],
        "n_line_attractor_like": counts["line_attractor_like"],
        "frac_line_attractor_like": counts["line_attractor_like"] / n if n else math.nan,
    }


def initial_states_from_trajectories(
    hidden: torch.Tensor | np.ndarray, n_init: int, noise: float, seed: int
) -> torch.Tensor:
    """``n_init`` probe states drawn (with a ``seed``-ed generator) from the visited states
    ``hidden`` (..., n), each plus Gaussian noise of standard deviation ``noise`` times the
    states' overall standard deviation. Returns (n_init, n) float64."""
    H = torch.as_tensor(np.asarray(hidden) if not isinstance(hidden, torch.Tensor) else hidden)
    H = H.detach().double().reshape(-1, H.shape[-1])
    g = torch.Generator().manual_seed(int(seed))
    idx = torch.randint(H.shape[0], (int(n_init),), generator=g)
    eps = torch.randn(int(n_init), H.shape[1], generator=g, dtype=torch.float64)
    return H[idx] + noise * float(H.std()) * eps


def fixed_points_from_checkpoint(
    checkpoint: str | Path,
    probe: Mapping[str, Any],
    n_init: int = 256,
    noise: float = 0.1,
    x_const: float | np.ndarray | None = None,
    q_tol: float = 1e-6,
    dedup_tol: float = 1e-3,
    line_tol: float = 0.05,
    max_iter: int = 200,
    threads: int = 1,
):
    """One summary row (pandas DataFrame with :data:`SUMMARY_COLUMNS`) for a trained network.

    Probe states come from the network's own hidden states on the task's probe batch
    (``probe``: ``{n_trials, seed}``, the same batch as the trajectories stage) plus noise
    (:func:`initial_states_from_trajectories`, seeded by ``probe["seed"]``). The input is held
    at ``x_const`` (default 0 on every channel: the delay period of delayed discrimination, the
    quiet periods of flip-flop and standing still in path integration). A diverged checkpoint
    gives a row of zeros and NaN.
    """
    import pandas as pd

    from ..io import load_checkpoint
    from ..models import model_from_checkpoint
    from ..tasks import make_task

    torch.set_num_threads(int(threads))
    ckpt = load_checkpoint(checkpoint)
    if str(ckpt["status"]) == "diverged":
        row = {c: 0 for c in SUMMARY_COLUMNS}
        row["frac_line_attractor_like"] = math.nan
        return pd.DataFrame([row]).astype(SUMMARY_COLUMNS)
    cfg = ckpt["config"]
    task = make_task(cfg["task"]["name"], **{k: v for k, v in cfg["task"].items() if k != "name"})
    model = model_from_checkpoint(ckpt, which="final")
    g = torch.Generator().manual_seed(int(probe["seed"]))
    x, _, _ = task.sample(int(probe["n_trials"]), g, ood=False)
    with torch.no_grad():
        _, hidden = model(x)
    h0 = initial_states_from_trajectories(hidden, n_init, noise, seed=int(probe["seed"]))
    fp = find_fixed_points(
        model,
        0.0 if x_const is None else x_const,
        h0,
        q_tol=q_tol,
        dedup_tol=dedup_tol,
        line_tol=line_tol,
        max_iter=max_iter,
    )
    return pd.DataFrame([fixed_point_summary(fp)]).astype(SUMMARY_COLUMNS)
