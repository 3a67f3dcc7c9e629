"""Helpers for the Snakemake ``script:`` wrappers in ``rules/scripts/`` (no torch import)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from pathlib import Path


@contextlib.contextmanager
def job(snakemake):
    """Set the job's thread count, send stdout/stderr to its log file; on an error write the
    traceback to the log, one line (error type and message) to the console, and exit 1."""
    threads = str(max(1, int(getattr(snakemake, "threads", 1))))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = threads
    log = Path(snakemake.log[0]) if len(snakemake.log) else None
    if log is None:
        yield int(threads)
        return
    log.parent.mkdir(parents=True, exist_ok=True)
    console = sys.stderr
    failure = None
    with open(log, "w") as fh, contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
        t0 = time.time()
        print(f"rule {snakemake.rule} wildcards {dict(snakemake.wildcards)}", flush=True)
        try:
            yield int(threads)
        except Exception as exc:
            traceback.print_exc(file=fh)
            fh.flush()
            failure = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        except BaseException:
            traceback.print_exc(file=fh)
            fh.flush()
            raise
        else:
            print(f"done in {time.time() - t0:.1f} s", flush=True)
    if failure is not None:
        # one line on the workflow's console (the traceback is in the job's log)
        print(
            f"rule {snakemake.rule} {dict(snakemake.wildcards)} failed: {failure} (traceback: {log})",
            file=console,
            flush=True,
        )
        raise SystemExit(1)
