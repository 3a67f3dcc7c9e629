"""Per-stage code hashes (standard library only; imported when the Snakefile is parsed).

Each workflow stage lists the library source files it runs. The workflow passes the hash of
their contents as a rule parameter, so editing e.g. ``metrics/dsa.py`` re-runs only the DSA jobs
(Snakemake's ``params`` rerun trigger), not training or trajectory extraction.
Entries are paths relative to ``src/degeneracy``; a directory means every ``*.py`` below it.
Missing entries are hashed as absent (so a module that appears later also triggers a rerun).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["STAGE_SOURCES", "stage_hash", "stage_hashes"]

_CORE = ["__init__.py", "config.py", "config", "io.py", "io"]
_NET = [*_CORE, "tasks", "tasks.py", "models", "models.py"]

STAGE_SOURCES: dict[str, list[str]] = {
    "train": [*_NET, "training", "training.py"],
    "trajectories": [
        *_NET,
        "metrics/__init__.py",
        "metrics/behavior.py",
        "metrics/feature_learning.py",
        "pipeline/__init__.py",
        "pipeline/extract.py",
    ],
    "dsa_fit": [*_CORE, "metrics/__init__.py", "metrics/dsa.py", "pipeline/__init__.py", "pipeline/extract.py"],
    "pairwise_dsa": [*_CORE, "metrics/__init__.py", "metrics/dsa.py", "pipeline/__init__.py", "pipeline/pairwise.py"],
    "pairwise_weights": [
        *_CORE,
        "metrics/__init__.py",
        "metrics/weights.py",
        "pipeline/__init__.py",
        "pipeline/pairwise.py",
    ],
    "collect": [*_CORE, "pipeline/__init__.py", "pipeline/collect.py"],
    "aggregate": [*_CORE, "aggregate.py", "aggregate", "stats.py", "stats", "pipeline/__init__.py", "pipeline/collect.py"],
    "figures": [*_CORE, "figures.py", "figures", "metrics/__init__.py", "metrics/mds.py", "pipeline/__init__.py", "pipeline/collect.py"],
}


def _files(root: Path, entry: str) -> list[Path]:
    path = root / entry
    if path.is_dir():
        return sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return [path]


def stage_hash(stage: str, root: str | Path) -> str:
    """SHA-256 (first 16 hex digits) over the stage's source files under ``root``."""
    root = Path(root)
    h = hashlib.sha256()
    seen = set()
    for entry in STAGE_SOURCES[stage]:
        for path in _files(root, entry):
            rel = path.relative_to(root).as_posix()
            if rel in seen:
                continue
            seen.add(rel)
            h.update(rel.encode())
            h.update(b"\0")
            h.update(path.read_bytes() if path.is_file() else b"<absent>")
            h.update(b"\0")
    return h.hexdigest()[:16]


def stage_hashes(root: str | Path) -> dict[str, str]:
    return {stage: stage_hash(stage, root) for stage in STAGE_SOURCES}
