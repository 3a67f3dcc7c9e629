"""DAG scale: dry-run time and peak memory of a paper-sized study (68 conditions x 50 seeds).

    python benchmarks/dag_scale.py [--seeds 50] [--repeats 1] [--quiet]
    python benchmarks/dag_scale.py --configfile configs/paper.yaml   # the paper's own config
    python benchmarks/dag_scale.py --configfile configs/paper.yaml --baseline HEAD~3 --repeats 2
                                   # the same beside an older revision: ratios, one machine, one load

With ``--configfile`` the dry run is of that config as written (configs/paper.yaml: 128
conditions x 50 seeds, 14,443 jobs with the pairwise and DSA-grid jobs sized from their costs); the result
also gives the milliseconds per job (``ms_per_job``), the ratio to compare DAGs of other sizes.

Writes a config with every experiment of the paper, sized to 68 distinct conditions, into a
temporary copy of the workflow (no results/), then times ``snakemake -n`` (the DAG of about
7,000 jobs: 3,400 trainings, 3,400 extractions, 68 DSA fits, 136 pairwise jobs, aggregation
and figures) and reads the peak resident memory of the snakemake process (getrusage of children).
Target (issue #4): under 30 s and 500 MB.

With ``--slurm`` it also times the same dry run with ``--workflow-profile profiles/slurm`` (the
executor plugin must be installed: ``pip install .[cluster]``; the account and partition
placeholders are filled with dummies, nothing is submitted) and, with ``--noop`` as well, a
no-op rerun: every output of the DAG is first created as an empty file and ``snakemake --touch``
puts their modification times in DAG order (minutes instead of 3,400 trainings), then
``snakemake -n`` with the slurm profile must find nothing to do; its time is what a user waits to
learn that. Caveat: ``--touch`` records no job metadata, so this rerun skips reading the
per-output records of the params/code rerun triggers that a real rerun also reads.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from degeneracy.conditions import build_study  # noqa: E402

COPY = ["Snakefile", "rules", "schemas", "envs", "report", "src", "profiles", "workflow_config.yaml"]
#: dummies for the slurm profile's placeholders (a dry run submits nothing)
SLURM_ENV = {"DEGENERACY_SLURM_ACCOUNT": "benchmark", "DEGENERACY_SLURM_PARTITION": "benchmark"}


def paper_config(seeds: int = 50, n_conditions: int = 68) -> dict:
    """The default study's structure with the paper's scale: ``n_conditions`` distinct conditions."""
    cfg = yaml.safe_load((REPO / "workflow_config.yaml").read_text())
    exps = cfg["experiments"]
    exps["complexity"]["levels"] = {
        "flipflop": [1, 2, 3, 4, 5, 6, 7],
        "delayed_discrimination": [1, 2, 3, 4, 5, 6, 7],
        "sine": [1, 2, 3, 4, 5, 6, 7],
        "path_integration": [2, 3],
    }
    exps["memory"]["levels"] = [20, 30, 40, 50, 60, 70, 80]
    exps["gamma"]["levels"] = [0.03, 0.1, 0.3, 1.0, 3.0, 10.0]
    exps["width"]["levels"] = [32, 64, 128, 256, 512]
    exps["l1"]["levels"] = [0.0, 1e-5, 1e-4, 1e-3, 1e-2]
    exps["nuclear"]["levels"] = [0.0, 1e-5, 1e-4, 1e-3, 1e-2]
    for exp in exps.values():
        exp["seeds"] = seeds
    # top up with more flip-flop channels until the study has exactly n_conditions
    n = len(build_study(cfg).conditions)
    extra = 8
    while n < n_conditions:
        exps["complexity"]["levels"]["flipflop"].append(extra)
        extra += 1
        n = len(build_study(cfg).conditions)
    if n != n_conditions:
        raise RuntimeError(f"could not size the study to {n_conditions} conditions (got {n})")
    return cfg


def dry_run(
    workdir: Path, config: Path, extra: tuple[str, ...] = (), env=None
) -> tuple[float, float, dict[str, int], float]:
    """(wall seconds, peak RSS in MB, job counts, CPU seconds) of one ``snakemake -n``.

    Peak RSS is the largest of all children so far (getrusage): read it from the first run."""
    out = workdir / "dry_run.log"
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = ru0.ru_maxrss
    t0 = time.perf_counter()
    with open(out, "w") as fh:
        subprocess.run(
            [sys.executable, "-m", "snakemake", "-n", "--configfile", str(config), *extra],
            cwd=workdir,
            env=None if env is None else {**os.environ, **env},
            stdout=fh,
            stderr=subprocess.STDOUT,
            check=True,
        )
    seconds = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    peak_kb = ru1.ru_maxrss
    if peak_kb < before:  # pragma: no cover - getrusage is monotone
        peak_kb = before
    text = out.read_text()
    m = re.search(r"Job stats:\n.*?\n-+\s+-+\n(.*?)\ntotal\s+(\d+)", text, re.S)
    counts = {"total": 0} if "Nothing to be done" in text else {}
    if m:
        for line in m.group(1).strip().splitlines():
            rule, n = line.split()
            counts[rule] = int(n)
        counts["total"] = int(m.group(2))
    return seconds, peak_kb / 1024.0, counts, cpu


def create_outputs(workdir: Path, dry_run_text: str) -> int:
    """Create every output listed by a dry run as an empty file (``snakemake --touch`` then puts
    their mtimes in DAG order; it does not create missing files)."""
    n = 0
    for m in re.finditer(r"^\s*output: (.*)$", dry_run_text, re.M):
        for f in m.group(1).split(", "):
            path = workdir / f.strip()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            n += 1
    return n


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--conditions", type=int, default=68)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the result here")
    ap.add_argument("--slurm", action="store_true", help="also dry-run with profiles/slurm")
    ap.add_argument("--noop", action="store_true", help="with --slurm: also a no-op rerun (touch)")
    ap.add_argument("--configfile", type=Path, help="dry-run this study config instead (e.g. configs/paper.yaml)")
    ap.add_argument(
        "--baseline",
        metavar="REV",
        help="also time the workflow at git revision REV, alternating with this checkout (same "
        "config, same machine, same minutes): prints the ratios this/baseline",
    )
    ap.add_argument(
        "--profile-none",
        action="store_true",
        help="dry-run with --workflow-profile none (default: the workflow's profiles/default, "
        "what a plain `snakemake -n` uses)",
    )
    args = ap.parse_args(argv)
    extra = ("--workflow-profile", "none") if args.profile_none else ()

    if args.configfile:
        cfg = yaml.safe_load(args.configfile.read_text())
    else:
        cfg = paper_config(args.seeds, args.conditions)
    study = build_study(cfg)
    n_networks = sum(len(c.seeds) for c in study.conditions.values())
    with tempfile.TemporaryDirectory(prefix="dag_scale_") as tmp:
        work = Path(tmp)
        for name in COPY:
            src = REPO / name
            if src.is_dir():
                shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
            else:
                shutil.copy2(src, work / name)
        config = work / "paper_scale.yaml"
        config.write_text(yaml.safe_dump(copy.deepcopy(cfg), sort_keys=False))
        base_runs = []
        if args.baseline:
            base = Path(tmp) / "baseline"
            base.mkdir()
            archive = subprocess.run(
                ["git", "archive", args.baseline, *[n for n in COPY if (REPO / n).exists()]],
                cwd=REPO,
                check=True,
                capture_output=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        config = work / "paper_scale.yaml"
        config.write_text(yaml.safe_dump(copy.deepcopy(cfg), sort_keys=False))
        runs = []
        for _ in range(args.repeats):  # alternate, so both see the same load
            runs.append(dry_run(work, config, extra))
            if args.baseline:
                base_runs.append(dry_run(base, config, extra))
        slurm = {}
        if args.slurm:
            prof = ("--workflow-profile", "profiles/slurm")
            sruns = [dry_run(work, config, prof, SLURM_ENV) for _ in range(args.repeats)]
            slurm = {
                "slurm_dry_run_s": round(min(r[0] for r in sruns), 2),
                "slurm_dry_run_jobs": sruns[0][2].get("total"),
            }
            if args.noop:
                t0 = time.perf_counter()
                create_outputs(work, (work / "dry_run.log").read_text())
                subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "snakemake",
                        "--touch",
                        "--cores",
                        "1",
                        "--quiet",
                        "all",
                        "--configfile",
                        str(config),
                        "--workflow-profile",
                        "none",
                    ],
                    cwd=work,
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                slurm["touch_s"] = round(time.perf_counter() - t0, 2)
                nruns = [dry_run(work, config, prof, SLURM_ENV) for _ in range(args.repeats)]
                slurm["slurm_noop_rerun_s"] = round(min(r[0] for r in nruns), 2)
                slurm["slurm_noop_rerun_jobs"] = nruns[0][2].get("total")
    seconds = min(r[0] for r in runs)
    peak = runs[0][1]  # getrusage's children maximum: only the first run is this checkout's alone
    result = {
        "conditions": len(study.conditions),
        "networks": n_networks,
        "jobs": runs[0][2].get("total"),
        "job_counts": runs[0][2],
        "dry_run_s": round(seconds, 2),
        "ms_per_job": round(1000 * seconds / max(runs[0][2].get("total") or 1, 1), 2),
        "dry_run_s_all": [round(r[0], 2) for r in runs],
        "dry_run_cpu_s": round(min(r[3] for r in runs), 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(peak, 1),
        "target": {"dry_run_s": 30, "peak_rss_mb": 500},
        "ok": seconds < 30 and peak < 500,
        **slurm,
    }
    if base_runs:
        b_s, b_cpu = min(r[0] for r in base_runs), min(r[3] for r in base_runs)
        result["baseline"] = {
            "rev": args.baseline,
            "jobs": base_runs[0][2].get("total"),
            "dry_run_s": round(b_s, 2),
            "dry_run_cpu_s": round(b_cpu, 2),
            "ms_per_job": round(1000 * b_s / max(base_runs[0][2].get("total") or 1, 1), 2),
            "ratio_wall": round(seconds / b_s, 3),
            "ratio_cpu": round(result["dry_run_cpu_s"] / b_cpu, 3),
        }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
