"""Atomic writers and checked readers for every file the pipeline produces.

Every writer writes a temporary file in the destination folder and renames it into place
(``os.replace`` is atomic on POSIX), so an interrupted job never leaves a truncated file under
the final name, and the file gets the permissions a plain ``open()`` would give (0644 under the
usual umask 022), so a group folder on a cluster can share the outputs. Every reader turns a
missing file into :class:`MissingFileError` and an unreadable one into :class:`CorruptFileError`;
the message names the file and says what to do (for a workflow output: how to make it again).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import pandas as pd

REQUIRED_CHECKPOINT_KEYS = (
    "config",
    "seed",
    "status",
    "init_state",
    "final_state",
    "n_inputs",
    "n_outputs",
)


class CorruptFileError(RuntimeError):
    """A pipeline file is missing, truncated or unreadable."""


class MissingFileError(CorruptFileError, FileNotFoundError):
    """A pipeline file does not exist (a :class:`CorruptFileError` and a FileNotFoundError)."""


def _in_workflow(path: Path) -> bool:
    return "results" in Path(path).parts


def _regenerate_hint(path: Path) -> str:
    """What to do about an unreadable file: a workflow output is deleted and made again."""
    if _in_workflow(path):
        return (
            f"delete it and make it again: `rm '{path}' && snakemake --cores 2 '{path}'` "
            "(Snakemake also re-runs what depends on it)"
        )
    return "re-create it with the code that wrote it"


def _missing(path: Path, what: str) -> MissingFileError:
    if _in_workflow(path):
        hint = f"if it is an output of this workflow, `snakemake --cores 2 '{path}'` makes it and what it needs"
    else:
        hint = "check the path"
    return MissingFileError(f"{path}: no such {what}; {hint}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic_write(path: Path | str, write: Callable[[str], None]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # as a plain open() would: group/others per umask
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_parquet(df: pd.DataFrame, path: Path | str) -> Path:
    """Write ``df`` as Parquet to ``path`` atomically; returns the path."""
    return _atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False))


def atomic_write_text(text: str, path: Path | str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    return _atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def atomic_torch_save(obj: Any, path: Path | str) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically; returns the path.

    Serialised in memory first: ``torch.save`` to a file names the zip records after the file
    (here a random temporary name), so the same object would give different bytes each time.
    """
    import io

    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return _atomic_write(path, lambda tmp: Path(tmp).write_bytes(buf.getvalue()))


def read_parquet(path: Path | str, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet file, raising :class:`CorruptFileError` (naming the file) if it is
    missing, truncated or lacks one of ``columns``."""
    path = Path(path)
    if not path.exists():
        raise _missing(path, "file")
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for truncated files
        raise CorruptFileError(
            f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc}); {_regenerate_hint(path)}"
        ) from exc
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise CorruptFileError(f"{path}: missing columns {missing}; {_regenerate_hint(path)}")
    return df


def load_checkpoint(path: Path | str) -> dict:
    """Load a training checkpoint written by :func:`degeneracy.training.train`.

    Returns the checkpoint dict (see docs/architecture.md). Raises
    :class:`CorruptFileError` naming the file if it is missing, truncated or incomplete.
    """
    import torch

    path = Path(path)
    if not path.exists():
        raise _missing(path, "checkpoint")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CorruptFileError(
            f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc}); {_regenerate_hint(path)}"
        ) from exc
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in REQUIRED_CHECKPOINT_KEYS):
        raise CorruptFileError(
            f"{path}: checkpoint lacks required keys {REQUIRED_CHECKPOINT_KEYS}; {_regenerate_hint(path)}"
        )
    return ckpt
