"""One human-readable line per training epoch, for job logs and the console."""

from __future__ import annotations

import sys
from typing import Any, Callable, TextIO


def format_progress(row: dict[str, Any], seed: int | None = None) -> str:
    """The epoch line of one log row: epoch, optimiser steps so far, epoch-mean MSE, learning rate and
    seconds since training started; prefixed with ``seed <s>`` when ``seed`` is given (ensembles)."""
    prefix = "" if seed is None else f"seed {seed:4d}  "
    return (
        f"{prefix}epoch {row['epoch']:4d}  steps {row['steps']:7d}  mse {row['loss']:.3e}  "
        f"lr {row['lr']:.2e}  elapsed {row['elapsed_s']:8.1f} s"
    )


def line_logger(stream: TextIO | None = None) -> Callable[[dict[str, Any]], None]:
    """A ``progress`` callback for :func:`degeneracy.training.train` that writes :func:`format_progress`
    lines to ``stream`` (default: the current ``sys.stdout``, which a Snakemake job redirects to its
    ``log:`` file) and flushes after each, so a running job's log shows every finished epoch."""

    def write(row: dict[str, Any]) -> None:
        out = sys.stdout if stream is None else stream
        seed = row.get("seed")
        print(format_progress(row, None if seed is None else int(seed)), file=out, flush=True)

    return write
