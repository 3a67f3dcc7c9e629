"""Adopt a finished study from another copy of the workflow, without rerunning anything.

``python -m degeneracy.adopt OLD_WORKFLOW_DIR [--study NAME] [--dest .]`` copies
``results/<study>/`` from ``OLD_WORKFLOW_DIR`` into this workflow with file times preserved, and
copies Snakemake's provenance records of those files (``.snakemake/metadata/``, one file per
output, named by the output's relative path). With both, ``snakemake -n`` here finds nothing to
do, and a later change of a setting or of code still re-runs exactly the jobs it affects.

Why it is needed: Snakemake decides reruns from file times (an input newer than an output), from
its provenance records (the parameters and code a job ran with) and from the software
environment. A plain copy of ``results/`` loses both the ordering of file times and the records.
The workflow's own code hashes are rule parameters, so this project turns Snakemake's ``code``
trigger off (``profiles/default/config.yaml``): that trigger compares script file times, which a
fresh clone resets.

Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import sys
from pathlib import Path

__all__ = ["adopt"]


def _record_name(rel: str) -> str:
    return base64.b64encode(rel.encode()).decode()


def adopt(source: str | Path, study: str, dest: str | Path = ".") -> tuple[int, int]:
    """Copy ``results/<study>/`` and its provenance records from the workflow at ``source`` into
    the one at ``dest``. Returns (files copied, provenance records copied). Raises
    FileNotFoundError naming the missing folder; refuses to overwrite an existing
    ``results/<study>/`` in ``dest`` (FileExistsError)."""
    source, dest = Path(source).resolve(), Path(dest).resolve()
    root = Path("results") / study
    src_root = source / root
    if not src_root.is_dir():
        raise FileNotFoundError(f"{src_root} does not exist: is {source} a workflow folder that ran study {study!r}?")
    if (dest / root).exists():
        raise FileExistsError(f"{dest / root} already exists: move it away first (nothing was copied)")
    shutil.copytree(src_root, dest / root, copy_function=shutil.copy2)
    n_files = sum(1 for p in (dest / root).rglob("*") if p.is_file())
    meta_src, meta_dest = source / ".snakemake" / "metadata", dest / ".snakemake" / "metadata"
    n_records = 0
    if meta_src.is_dir():
        meta_dest.mkdir(parents=True, exist_ok=True)
        for path in (dest / root).rglob("*"):
            if not path.is_file():
                continue
            name = _record_name(path.relative_to(dest).as_posix())
            record = meta_src / name
            if record.is_file():
                shutil.copy2(record, meta_dest / name)
                n_records += 1
    return n_files, n_records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m degeneracy.adopt", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="the other workflow folder (holding results/<study>/ and .snakemake/)")
    parser.add_argument("--study", default="default", help="study name: results/<study>/ (default: default)")
    parser.add_argument("--dest", default=".", help="this workflow's folder (default: .)")
    args = parser.parse_args(argv)
    try:
        n_files, n_records = adopt(args.source, args.study, args.dest)
    except (FileNotFoundError, FileExistsError) as exc:
        print(f"adopt: {exc}", file=sys.stderr)
        return 1
    print(f"adopted results/{args.study}/: {n_files} files, {n_records} provenance records")
    if n_records == 0:
        print(
            "no provenance records were found: run `snakemake --touch --cores 1` once to mark the outputs "
            "up to date; until a job reruns, a later change of its settings is not detected",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
