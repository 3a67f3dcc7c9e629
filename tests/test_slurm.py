"""Cluster execution: the SLURM workflow profile, checked without a cluster.

- a dry run with ``--workflow-profile profiles/slurm`` resolves the documented resources of
  train, pairwise and aggregation jobs (and makes aggregation and figures local rules);
- the GPU profile differs from the CPU one only in what it documents;
- a run of a tiny study through the real ``snakemake-executor-plugin-slurm`` against the fake
  SLURM in ``tests/fake_slurm/`` (sbatch, squeue, sacct, scontrol, sacctmgr, srun, ... put first
  on PATH; jobs run locally and every call is recorded): outputs and recorded submissions.

The workflow is copied into a temporary directory (as in test_workflow.py), so the repository's
``results/`` and ``.snakemake/`` are never touched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
FAKE_SLURM = Path(__file__).resolve().parent / "fake_slurm"
PROFILE = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
GPU_PROFILE = yaml.safe_load((REPO / "profiles" / "slurm-gpu" / "config.yaml").read_text())

import snakemake_executor_plugin_slurm  # noqa: E402,F401  (pinned in requirements.lock)
from workflow_copy import copy_workflow  # noqa: E402




def _small_config(dest: Path) -> Path:
    """configs/test.yaml cut down: one experiment, 2 conditions x 2 seeds, one figure."""
    cfg = yaml.safe_load((REPO / "configs" / "test.yaml").read_text())
    cfg["experiments"] = {"complexity": cfg["experiments"]["complexity"]}
    for name, fig in cfg["figures"].items():
        if name != "fig3":
            cfg["figures"][name] = {"enabled": False}
    path = dest / "configs" / "slurm_test.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DEGENERACY_SLURM_ACCOUNT="fakeacct", DEGENERACY_SLURM_PARTITION="fakepart")
    for var in [v for v in env if v.startswith("SLURM_")]:
        del env[var]
    return env


def _snakemake(workdir: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", *args]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}")
    return proc


def _dry_run_jobs(text: str) -> list[dict]:
    """Rule name, wildcards and resources of every job printed by ``snakemake -n``."""
    jobs = []
    for m in re.finditer(r"^\s*(local)?rule (\w+):\n(.*?)(?=^\s*\n|^\s*\[|\Z)", text, re.S | re.M):
        body = m.group(3)
        res = re.search(r"resources: (.*)", body)
        resources = {}
        if res:
            for item in res.group(1).split(", "):
                k, _, v = item.partition("=")
                resources[k] = v
        threads = re.search(r"threads: (\d+)", body)
        jobs.append(
            {
                "rule": m.group(2),
                "threads": int(threads.group(1)) if threads else 1,
                "resources": resources,
            }
        )
    return jobs


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> list[dict]:
    wd = copy_workflow(tmp_path_factory.mktemp("slurm_dry"))
    proc = _snakemake(
        wd, "-n", "--workflow-profile", "profiles/slurm", "--configfile", "configs/test.yaml",
        env=_env(wd),
    )
    return _dry_run_jobs(proc.stdout + proc.stderr)


def _one(jobs, rule):
    found = [j for j in jobs if j["rule"] == rule]
    assert found, f"no {rule} job in the dry run"
    return found[0]


def test_profile_resources_resolve(dry_run):
    train = _one(dry_run, "train")
    assert train["threads"] == 1
    assert train["resources"]["mem_mb"] == "2000"
    assert train["resources"]["runtime"] == "240"
    assert train["resources"]["slurm_account"] == "fakeacct"
    assert train["resources"]["slurm_partition"] == "fakepart"
    assert train["resources"]["slots"] == "1"
    for rule in ("pairwise_dsa", "pairwise_weights"):
        job = _one(dry_run, rule)
        assert job["threads"] == 2
        assert job["resources"]["mem_mb"] == "8000"
        assert job["resources"]["runtime"] == "240"
        assert job["resources"]["slurm_partition"] == "fakepart"
    traj = _one(dry_run, "trajectories")
    assert traj["resources"]["mem_mb"] == "4000" and traj["resources"]["runtime"] == "30"


def test_aggregation_resources(dry_run):
    """Aggregation and figure jobs resolve the profile's values (they are local rules: the
    fake-SLURM run below checks that they are never submitted)."""
    assert _one(dry_run, "meta")["resources"]["mem_mb"] == "1000"
    for rule in ("networks", "pairwise_all", "summary", "effects", "figure"):
        job = _one(dry_run, rule)
        assert job["threads"] == 1
        assert job["resources"]["mem_mb"] == "4000", rule
        assert job["resources"]["runtime"] == ("15" if rule == "figure" else "30"), rule


def test_default_profile_has_no_resources():
    """A workflow profile replaces a --profile's keys: resources here would drop the cluster's."""
    default = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text())
    assert default["scheduler"] == "greedy" and default["rerun-incomplete"] is True
    assert not {"default-resources", "set-resources", "resources", "set-threads", "executor"} & set(default)


def test_gpu_profile_is_the_cpu_profile_plus_a_gpu_for_training():
    cpu, gpu = dict(PROFILE), dict(GPU_PROFILE)
    assert gpu.pop("set-resources")["train"].pop("gres") == "gpu:1"
    cpu_res = cpu.pop("set-resources")
    assert {k: v for k, v in GPU_PROFILE["set-resources"].items() if k != "train"} == {
        k: v for k, v in cpu_res.items() if k != "train"
    }
    # training on its own (GPU) submissions: no train+trajectories pairing
    assert gpu.pop("groups") == {"train": "training", "trajectories": "extraction"}
    assert set(gpu.pop("group-components")) == {"training", "extraction"}
    cpu.pop("groups"), cpu.pop("group-components")
    assert gpu == cpu
    assert "gres" not in GPU_PROFILE["set-resources"].get("trajectories", {})


# --------------------------------------------------------------------------- fake SLURM run


def _calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_run_through_slurm_plugin_against_fake_slurm(tmp_path):
    (tmp_path / "wf").mkdir()
    wd = copy_workflow(tmp_path / "wf")
    config = _small_config(wd)
    bindir = tmp_path / "bin"
    shutil.copytree(FAKE_SLURM, bindir, ignore=shutil.ignore_patterns("__pycache__"))
    for f in bindir.iterdir():
        f.chmod(0o755)
    env = _env(wd)
    env["PATH"] = f"{bindir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["FAKE_SLURM_DIR"] = str(tmp_path / "slurm_state")
    env["FAKE_SLURM_LOG"] = str(tmp_path / "slurm_calls.jsonl")
    env["FAKE_SLURM_ACCOUNTS"] = "fakeacct"
    env["FAKE_SLURM_PARTITIONS"] = "fakepart,other"
    targets = [
        "results/networks.parquet",
        "results/pairwise.parquet",
        "results/summary/complexity.parquet",
        "results/figures/fig3.png",
    ]
    _snakemake(
        wd,
        "--workflow-profile", "profiles/slurm",
        "--configfile", str(config.relative_to(wd)),
        "--slurm-init-seconds-before-status-checks", "1",
        "--slurm-keep-successful-logs",
        "--latency-wait", "5",
        "--local-cores", "1",
        # two submissions of 2 networks each (the profile has 4): they run side by side here
        "--group-components", "network=2",
        "--",
        *targets,
        env=env,
    )
    for t in targets:
        assert (wd / t).exists(), t
    networks = pd.read_parquet(wd / "results/networks.parquet")
    assert len(networks) == 4 and networks["converged"].all()
    pairwise = pd.read_parquet(wd / "results/pairwise.parquet")
    assert set(pairwise["metric"]) >= {"dsa", "weight_aligned"}

    calls = _calls(Path(env["FAKE_SLURM_LOG"]))
    sbatch = [c for c in calls if c["cmd"] == "sbatch"]
    assert sbatch, "nothing was submitted"
    for c in sbatch:
        o = c["options"]
        assert o["-A"] == "fakeacct" and o["-p"] == "fakepart"
        assert "--parsable" in o and "--wrap" in o
        assert "--executor slurm-jobstep" in o["--wrap"]
    by_kind = {}
    for c in sbatch:
        comment = c["options"]["--comment"]
        kind = "network" if comment.startswith("rule_network") or "group" in c["options"]["--output"] else comment.split("_wildcards")[0]
        by_kind.setdefault(kind, []).append(c["options"])
    # 4 networks (train + trajectories each) in group components of 2: two submissions, each
    # asking for one member's cpus and the largest member's memory (members run one after
    # another), and the sum of the members' runtimes; never the sum of everything
    groups = by_kind.pop("network")
    assert len(groups) == 2
    for g in groups:
        assert g["--cpus-per-task"] == "1"
        assert g["--mem"] == "4000"
        assert g["-t"] == str(2 * (240 + 30))
        assert g["--wrap"].count("train:") == 2 and g["--wrap"].count("trajectories:") == 2
    # per-rule submissions, one per condition, with the profile's resources
    assert len(by_kind["rule_pairwise_dsa"]) == 2 and len(by_kind["rule_pairwise_weights"]) == 2
    for o in by_kind["rule_pairwise_dsa"] + by_kind["rule_pairwise_weights"]:
        assert o["--cpus-per-task"] == "2" and o["--mem"] == "8000" and o["-t"] == "240"
    for o in by_kind["rule_dsa_fit"]:
        assert o["--cpus-per-task"] == "1" and o["--mem"] == "4000" and o["-t"] == "30"
    # aggregation and figures ran locally: never submitted
    submitted = " ".join(c["options"]["--comment"] for c in sbatch)
    for rule in ("meta", "networks", "pairwise_all", "summary", "effects", "figure"):
        assert f"rule_{rule}_" not in submitted and not submitted.endswith(f"rule_{rule}")
    # the plugin asked for job states and ran the jobs' steps through srun
    assert any(c["cmd"] in ("sacct", "squeue") for c in calls)
    assert any(c["cmd"] == "srun" for c in calls)
    assert len(sbatch) == 2 + 2 + 2 + 2  # groups + dsa_fit + pairwise_dsa + pairwise_weights
