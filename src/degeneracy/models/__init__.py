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

__all__ = ["MODEL_KINDS", "MuPRNN", "StandardRNN", "build_model", "model_from_checkpoint", "recurrent_generator"]

#: Offset of the stream the recurrent matrix is drawn from (the data stream is seed + 1,000,003).
_RECURRENT_STREAM = 2_000_003


def recurrent_generator(seed: int) -> torch.Generator:
    """The CPU generator the initial recurrent matrix of network ``seed`` is drawn from: seeded with
    seed + 2,000,003 only, so it is the same at every level of a factor that leaves n_units and
    the model kind alone (number of inputs and outputs, task, gamma, ...)."""
    return torch.Generator().manual_seed(int(seed) + _RECURRENT_STREAM)


def build_model(model_cfg: dict[str, Any], n_inputs: int, n_outputs: int, seed: int) -> nn.Module:
    """Build the model described by ``model_cfg`` (``kind``, ``n_units``; muP: ``gamma``, ``tau``,
    ``readout_init``), initialised from ``seed`` without touching the global RNG state.

    Pairing: the recurrent matrix (W_h, or J for muP) is drawn from :func:`recurrent_generator`
    (``seed`` only), the other parameters from ``torch.manual_seed(seed)``. Seed s therefore starts
    from the same recurrent matrix whatever the number of inputs or outputs; ``nn.RNN`` alone draws
    W_x (n x inputs) before W_h, so one stream would not.
    """
    kind = model_cfg["kind"]
    if kind not in MODEL_KINDS:
        raise ValueError(f"model kind {kind!r} is invalid; choose one of {list(MODEL_KINDS)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        if kind == "standard":
            model: nn.Module = StandardRNN(n_inputs, n_outputs, model_cfg["n_units"])
        else:
            model = MuPRNN(
                n_inputs,
                n_outputs,
                model_cfg["n_units"],
                gamma=model_cfg["gamma"],
                tau=model_cfg["tau"],
                readout_init=model_cfg["readout_init"],
            )
    model.reset_recurrent(recurrent_generator(seed))
    return model


def model_from_checkpoint(ckpt: dict[str, Any], which: str = "final") -> nn.Module:
    """Rebuild the model of a checkpoint with its ``"final"`` or ``"init"`` weights (on CPU, eval mode)."""
    if which not in ("final", "init"):
        raise ValueError(f"which={which!r} is invalid; choose 'final' or 'init'")
    model = build_model(ckpt["config"]["model"], ckpt["n_inputs"], ckpt["n_outputs"], seed=0)
    model.load_state_dict(ckpt[f"{which}_state"])
    return model.eval()
