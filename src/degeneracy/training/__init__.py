"""Training to criterion and the structural regularisers."""

from .ensemble import ensemble_size, train_ensemble
from .loop import LOG_COLUMNS, STATUSES, TrainResult, masked_mse, resolve_device, train
from .progress import format_progress, line_logger
from .regularisers import l1_penalty, nuclear_penalty, regulariser_penalty
from .stopping import StopRule

__all__ = [
    "LOG_COLUMNS",
    "STATUSES",
    "StopRule",
    "TrainResult",
    "ensemble_size",
    "format_progress",
    "l1_penalty",
    "line_logger",
    "masked_mse",
    "nuclear_penalty",
    "regulariser_penalty",
    "resolve_device",
    "train",
    "train_ensemble",
]
