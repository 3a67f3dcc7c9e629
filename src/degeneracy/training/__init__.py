"""Training to criterion and the structural regularisers."""

from .loop import LOG_COLUMNS, STATUSES, TrainResult, masked_mse, resolve_device, train
from .regularisers import l1_penalty, nuclear_penalty, regulariser_penalty
from .stopping import StopRule

__all__ = [
    "LOG_COLUMNS",
    "STATUSES",
    "StopRule",
    "TrainResult",
    "l1_penalty",
    "masked_mse",
    "nuclear_penalty",
    "regulariser_penalty",
    "resolve_device",
    "train",
]
