"""Grow a finished study by seeds (issue 33): raising a condition's seeds from 4 to 6 trains only
the new seeds and measures only the weight and SVCCA pairs that involve them (the new chunks of
2-seed blocks), while DSA (one batched alignment of the whole set) is recomputed; the grown
study's tables equal those of a fresh 6-seed run (each stage's library call over all 6 networks
in one job), value for value.

One condition of the test study (the gamma experiment at gamma 1, flip-flop, n = 8), pairs_per_job
4 (2 seeds per block), run in temporary copies of the workflow (tests/workflow_copy.py)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from workflow_copy import copy_workflow  # noqa: E402

from degeneracy.conditions import build_study  # noqa: E402

pytestmark = pytest.mark.slow

#: the condition's tables (the study tables concatenate them)
TABLES = (
    "pairwise/{c}/dsa.parquet",
    "pairwise/{c}/weights.parquet",
    "pairwise/{c}/svcca.parquet",
    "svcca/{c}/spectrum.parquet",
)
CONDITION = "flipflop-ch1-mup-n8-g1"


def _config(seeds: int) -> dict:
    cfg = yaml.safe_load((REPO / "configs" / "test.yaml").read_text())
    cfg["only"] = ["gamma"]
    cfg["experiments"]["gamma"]["seeds"] = seeds
    cfg["pairwise"] = {"pairs_per_job": 4}
    return cfg


def _snakemake(workdir: Path, cfg: dict, *args: str) -> str:
    path = workdir / "grow.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    root = build_study(cfg).root
    targets = [f"{root}/{t.format(c=CONDITION)}" for t in TABLES]
    cmd = [sys.executable, "-m", "snakemake", *args, "--configfile", str(path), "--", *targets]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _planned(text: str) -> dict[str, list[dict[str, str]]]:
    """rule -> wildcards of each job a dry run lists."""
    jobs: dict[str, list[dict[str, str]]] = {}
    for block in re.split(r"\n(?=\[[^\n]*\]\n(?:local)?rule )", text):
        m = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        if not m:
            continue
        w = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        wildcards = dict(item.split("=", 1) for item in w.group(1).split(", ")) if w else {}
        jobs.setdefault(m.group(1), []).append(wildcards)
    return jobs


def _table(workdir: Path, cfg: dict, name: str) -> pd.DataFrame:
    return pd.read_parquet(workdir / build_study(cfg).root / name.format(c=CONDITION))


def test_four_to_six_seeds_plans_only_the_new_networks_and_pair_chunks(tmp_path):
    (tmp_path / "grown").mkdir()
    grown = copy_workflow(tmp_path / "grown")
    four, six = _config(4), _config(6)
    assert build_study(four).root == build_study(six).root  # the same study, grown
    assert CONDITION in build_study(six).conditions
    cid = CONDITION
    _snakemake(grown, four, "--cores", "2")

    plan = _planned(_snakemake(grown, six, "-n"))
    assert sorted(int(w["seed"]) for w in plan["train"]) == [4, 5]
    assert sorted(int(w["seed"]) for w in plan["extract"]) == [4, 5]
    new_chunks = ["s2b0-2", "s2b1-2", "s2b2-2"]  # seeds {0,1} x {4,5}, {2,3} x {4,5}, {4,5} alone
    for rule in ("pairwise_weights", "pairwise_svcca"):
        assert sorted(w["chunk"] for w in plan[rule]) == new_chunks, (rule, plan[rule])
        assert {w["condition"] for w in plan[rule]} == {cid}
    # DSA aligns the whole set in one batch: recomputed for the condition
    assert len(plan["dsa_fit"]) == len(plan["pairwise_dsa"]) == 1
    assert set(plan) == {
        "train",
        "extract",
        "dsa_fit",
        "pairwise_dsa",
        "pairwise_weights",
        "pairwise_svcca",
        "pairwise_weights_gather",
        "pairwise_svcca_gather",
    }, sorted(plan)

    _snakemake(grown, six, "--cores", "2")
    fresh = _fresh_tables(grown / build_study(six).root, six, tmp_path / "fresh")
    for name in TABLES:
        pd.testing.assert_frame_equal(_table(grown, six, name), fresh[name], check_exact=True)
    weights = fresh[TABLES[1]][fresh[TABLES[1]]["metric"] == "weight_aligned"]
    assert len(weights) == 15  # every pair of 6 networks (all converge in the test study)


def _fresh_tables(root: Path, cfg: dict, out: Path) -> dict[str, pd.DataFrame]:
    """The condition's tables as a fresh 6-seed run writes them: each stage's library call (the
    rules' own) over all 6 networks in one job, on the grown study's extracted networks
    (training and extraction are deterministic: tests/test_reliability.py)."""
    from degeneracy.io import read_parquet
    from degeneracy.pipeline.dsa_fit import dsa_fit
    from degeneracy.pipeline.pairwise import gather
    from degeneracy.pipeline.pairwise_dsa import pairwise_dsa
    from degeneracy.pipeline.pairwise_svcca import pairwise_svcca
    from degeneracy.pipeline.pairwise_weights import pairwise_weights

    out.mkdir()
    study = build_study(cfg)
    cond = study.conditions[CONDITION]
    files = {
        name: [str(root / "extract" / CONDITION / f"seed{s}" / f"{name}.parquet") for s in cond.seeds]
        for name in ("network", "weights", "trajectories", "trajectories_probe2")
    }
    dsa = cond.analysis["dsa"]
    dsa_fit(
        CONDITION,
        files["network"],
        files["trajectories"],
        {k: dsa[k] for k in ("n_delays", "delay_interval", "rank", "ridge", "seed")},
        out_operators=out / "ops.parquet",
        out_null=out / "null.parquet",
        trajectory_probe2_paths=files["trajectories_probe2"],
    )
    pairwise_dsa(
        CONDITION, out / "ops.parquet", out / "null.parquet", {k: dsa[k] for k in ("mode", "seed")}, out / "dsa.parquet"
    )
    pairwise_weights(
        CONDITION,
        files["network"],
        files["weights"],
        study.config["weights"],
        out / "weights.parquet",
        trajectory_paths=files["trajectories"],
    )
    pairwise_svcca(
        CONDITION,
        files["network"],
        files["trajectories"],
        out / "svcca.parquet",
        n_components=cond.analysis["svcca"]["n_components"],
        probe2_paths=files["trajectories_probe2"],
        out_spectrum=out / "spectrum.parquet",
    )
    return {
        TABLES[0]: read_parquet(out / "dsa.parquet"),
        TABLES[1]: gather([out / "weights.parquet"]),  # the gathered table's order and dtypes
        TABLES[2]: gather([out / "svcca.parquet"]),
        TABLES[3]: read_parquet(out / "spectrum.parquet"),
    }
