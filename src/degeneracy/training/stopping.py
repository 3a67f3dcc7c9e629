"""The stop rule: when a run has been below its loss threshold long enough to count as converged."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class StopRule:
    """Consecutive-epoch criterion on the epoch-mean training MSE.

    A run stops as converged at the end of the epoch that completes a streak of ``patience + 1``
    consecutive epochs whose epoch-mean MSE is below ``threshold``: the epoch that first falls below,
    then ``patience`` further epochs that all stay below. An epoch at or above the threshold resets the
    streak, so a run that dips below once and comes back up is not stopped. With ``patience = 0`` the
    first epoch below the threshold stops the run.
    """

    threshold: float
    patience: int
    streak: int = 0

    def update(self, epoch_loss: float) -> bool:
        """Record one epoch-mean MSE (squared output units); True when the run should stop as converged."""
        if math.isfinite(epoch_loss) and epoch_loss < self.threshold:
            self.streak += 1
        else:
            self.streak = 0
        return self.streak > self.patience
