"""Shared by the workflow tests: copy the workflow into a temporary folder (never touch results/)."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = [
    "Snakefile",
    "rules",
    "schemas",
    "configs",
    "envs",
    "report",
    "src",
    "profiles",
    "workflow_config.yaml",
]


def copy_workflow(dest: Path, source: Path = REPO) -> Path:
    """Copy the Snakefile, rules, schemas, configs, envs, report, src, profiles and
    workflow_config.yaml of ``source`` (the repository, or an earlier copy: two runs that must
    agree then use the same code even while the repository changes) into ``dest``. Returns
    ``dest``."""
    for name in WORKFLOW_FILES:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    return dest
