"""RNN models: the standard tanh RNN and the leaky mean-field (muP) network.

Each model kind lives in the module of the same name (``standard.py``, ``mup.py``); the kinds
are listed once, in :data:`degeneracy.config.MODEL_KINDS`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import MODEL_KINDS
from .mup import MuPRNN
from .standard import StandardRNN

__all__ = ["MODEL_KINDS", "MuPRNN", "StandardRNN", "build_model", "model_from_checkpoint"]


def build_model(model_cfg: dict[str, Any], n_inputs: int, n_outputs: int, seed: int) -> nn.Module:
    """Build the model described by ``model_cfg`` (``kind``, ``n_units``; muP: ``gamma``, ``tau``,
    ``readout_init``), initialised from ``seed`` without touching the global RNG state."""
    kind = model_cfg["kind"]
    if kind not in MODEL_KINDS:
        raise ValueError(f"model kind {kind!r} is invalid; choose one of {list(MODEL_KINDS)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        if kind == "standard":
            return StandardRNN(n_inputs, n_outputs, model_cfg["n_units"])
        return MuPRNN(
            n_inputs,
            n_outputs,
            model_cfg["n_units"],
            gamma=model_cfg["gamma"],
            tau=model_cfg["tau"],
            readout_init=model_cfg["readout_init"],
        )


def model_from_checkpoint(ckpt: dict[str, Any], which: str = "final") -> nn.Module:
    """Rebuild the model of a checkpoint with its ``"final"`` or ``"init"`` weights (on CPU, eval mode)."""
    if which not in ("final", "init"):
        raise ValueError(f"which={which!r} is invalid; choose 'final' or 'init'")
    model = build_model(ckpt["config"]["model"], ckpt["n_inputs"], ckpt["n_outputs"], seed=0)
    model.load_state_dict(ckpt[f"{which}_state"])
    return model.eval()
