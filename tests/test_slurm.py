"""Cluster execution: the SLURM workflow profiles, checked without a cluster.

- job resources have one home, the rules (rules/*.smk): the threads, mem_mb and runtime that a
  dry run resolves under ``profiles/slurm`` and ``profiles/slurm-gpu`` equal the numbers written
  in the rules, and equal those of a dry run without any profile; no profile (and no study
  config) states these numbers;
- the profiles add where jobs go (account, partition from the environment), the ``slots`` caps
  and the batching groups; the GPU profile is the CPU profile plus ``gres`` for train and its
  own groups (trainings and extractions batched apart);
- a run of a tiny study through the real ``snakemake-executor-plugin-slurm`` against the fake
  SLURM in ``tests/fake_slurm/`` (sbatch, squeue, sacct, scontrol, sacctmgr, srun, ... put first
  on PATH; jobs run locally and every call is recorded): outputs and recorded submissions, whose
  --mem, -t and --cpus-per-task are checked against the numbers written in the rules.

The workflow is copied into a temporary directory (tests/workflow_copy.py), so the repository's
``results/`` and ``.snakemake/`` are never touched.
"""

from __future__ import annotations

import json
import math
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
PROFILES = REPO / "profiles"
PROFILE = yaml.safe_load((PROFILES / "slurm" / "config.yaml").read_text())
GPU_PROFILE = yaml.safe_load((PROFILES / "slurm-gpu" / "config.yaml").read_text())
DEFAULT_PROFILE = yaml.safe_load((PROFILES / "default" / "config.yaml").read_text())

import snakemake_executor_plugin_slurm  # noqa: E402,F401  (pinned in requirements.lock)
from workflow_copy import copy_workflow  # noqa: E402

#: the numbers whose only home is the rules
JOB_SIZE = ("threads", "mem_mb", "runtime")
#: every spelling under which a profile could state them (Snakemake and the SLURM plugin)
SIZE_KEYS = {
    "threads",
    "cpus_per_task",
    "mem_mb",
    "mem",
    "mem_mib",
    "mem_gb",
    "mem_mb_per_cpu",
    "runtime",
    "walltime",
    "time_min",
    "time",
}
#: rules that every study runs as jobs (the dry run of configs/test.yaml must show each of them)
CORE_RULES = {
    "train",
    "extract",
    "example_trial",
    "dsa_fit",
    "pairwise_dsa",
    "pairwise_weights",
    "meta",
    "networks",
    "pairwise_all",
    "summary",
    "effects",
    "figure",
}


# --------------------------------------------------------------------------- the rules' numbers


_RULE = re.compile(
    # a rule's header (at any indentation: rules may sit inside an `if` or a `for`) and its body,
    # the lines indented deeper than the header (blank lines included)
    r"^(?P<indent>[ \t]*)rule(?: (?P<name>\w+))?:[ \t]*\n(?P<body>(?:(?P=indent)[ \t]+\S.*\n|[ \t]*\n)*)",
    re.M,
)


def _name_pattern(m: re.Match) -> str:
    """Regex of the rule's name: its literal name, or for ``rule:`` with ``name: f"x_{...}"``
    the f-string with each replacement field matching any text."""
    if m.group("name"):
        return re.escape(m.group("name"))
    named = re.search(r"^\s+name:\s*\n?\s*f?[\"']([^\"']+)[\"']", m.group("body"), re.M)
    assert named, f"an anonymous rule without a name: {m.group(0)[:200]}"
    return ".+".join(re.escape(part) for part in re.split(r"\{[^}]*\}", named.group(1)))


def _rules_as_written() -> dict[str, dict[str, int]]:
    """threads, mem_mb and runtime written literally in each rule of rules/*.smk, by a regex of
    the rule's name (rules that state none of them, such as ``all``, are left out)."""
    out: dict[str, dict[str, int]] = {}
    for path in sorted((REPO / "rules").glob("*.smk")):
        for m in _RULE.finditer(path.read_text()):
            body = m.group("body")
            found = {}
            threads = re.search(r"^\s+threads:\s*(\d+)\s*$", body, re.M)
            if threads:
                found["threads"] = int(threads.group(1))
            for key in ("mem_mb", "runtime"):
                value = re.search(rf"^\s+{key}\s*=\s*(\d+)\s*,?\s*$", body, re.M)
                if value:
                    found[key] = int(value.group(1))
            name = _name_pattern(m)
            if found:
                assert set(found) == set(JOB_SIZE), (
                    f"rule {name} ({path.name}) states {sorted(found)}: each rule states "
                    f"all of {JOB_SIZE} as literal numbers"
                )
                assert name not in out, f"rule {name} defined twice"
                out[name] = found
    return out


def _local_rules() -> set[str]:
    """Rules named in a ``localrules:`` directive of rules/*.smk (or the Snakefile)."""
    out: set[str] = set()
    for path in [*sorted((REPO / "rules").glob("*.smk")), REPO / "Snakefile"]:
        for m in re.finditer(r"^localrules:((?:[ \t]*\w+,?)*[ \t]*\n(?:[ \t]+\w+,?[ \t]*\n)*)", path.read_text(), re.M):
            out.update(re.findall(r"\w+", m.group(1)))
    return out


RULES = _rules_as_written()
LOCAL_RULES = _local_rules()


def _written(rule: str) -> dict[str, int]:
    """The numbers written in the rule that a job named ``rule`` comes from."""
    matches = [size for pattern, size in RULES.items() if re.fullmatch(pattern, rule)]
    assert len(matches) == 1, f"job {rule}: {len(matches)} rules state its numbers"
    return matches[0]


def test_rule_parser_reads_a_planted_rule(tmp_path, monkeypatch):
    """The parsers above on rule files whose numbers are known (and one that misses one)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (tmp_path / "Snakefile").write_text("localrules: top\n")
    (rules / "a.smk").write_text(
        "localrules:\n    planted,\n    other,\n\n\n"
        "rule planted:\n    output:\n        'x',\n    threads: 3\n\n    resources:\n"
        "        mem_mb=1234,\n        runtime=56,\n    shell:\n        'touch x'\n\n\n"
        "rule bare:\n    input:\n        'x',\n\n"
        "if not BLOCKS:\n\n    rule inner:\n        threads: 1\n        resources:\n"
        "            mem_mb=7,\n            runtime=8,\n\n"
        'for b in BLOCKS:\n\n    rule:\n        name:\n            f"block_{len(R)}"\n'
        "        threads: 2\n        resources:\n            mem_mb=9,\n            runtime=10,\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert _rules_as_written() == {
        "planted": {"threads": 3, "mem_mb": 1234, "runtime": 56},
        "inner": {"threads": 1, "mem_mb": 7, "runtime": 8},
        "block_.+": {"threads": 2, "mem_mb": 9, "runtime": 10},
    }
    assert _local_rules() == {"planted", "other", "top"}
    (rules / "b.smk").write_text("rule partial:\n    threads: 2\n    resources:\n        mem_mb=10,\n")
    with pytest.raises(AssertionError, match="partial"):
        _rules_as_written()


def test_every_job_rule_states_its_numbers():
    assert CORE_RULES <= set(RULES), f"rules without threads/mem_mb/runtime: {CORE_RULES - set(RULES)}"
    assert {"meta", "networks", "summary", "effects", "figure"} <= LOCAL_RULES
    for rule, size in RULES.items():
        assert size["threads"] >= 1 and size["mem_mb"] > 0 and size["runtime"] > 0, rule


# --------------------------------------------------------------------------- dry runs


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(DEGENERACY_SLURM_ACCOUNT="fakeacct", DEGENERACY_SLURM_PARTITION="fakepart")
    for var in [v for v in env if v.startswith("SLURM_")]:
        del env[var]
    return env


def _snakemake(workdir: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", *args]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, env=env, timeout=1500)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}")
    return proc


_HEADER = re.compile(r"^(\s*)(?:local)?rule (\w+):$")
_GROUP = re.compile(r"Group job (\w+) \(jobs in")


def _dry_run_jobs(text: str) -> list[dict]:
    """Every job printed by ``snakemake -n``: rule, wildcards, threads (printed only when > 1),
    resources (strings) and the batching group it was printed in (None outside a group)."""
    jobs: list[dict] = []
    group, group_no, job = None, 0, None
    for line in text.splitlines():
        g = _GROUP.search(line)
        if g:
            group, group_no, job = g.group(1), group_no + 1, None
            continue
        h = _HEADER.match(line)
        if h:
            if not h.group(1):  # a top-level job ends the group listing
                group = None
            job = {
                "rule": h.group(2),
                "group": group,
                "group_no": group_no if group else None,
                "threads": 1,
                "resources": {},
                "wildcards": {},
            }
            jobs.append(job)
            continue
        if job is None:
            continue
        key, _, value = line.strip().partition(": ")
        if key == "threads":
            job["threads"] = int(value)
        elif key in ("resources", "wildcards"):
            for item in value.split(", "):
                k, _, v = item.partition("=")
                job[key][k] = v
        elif not line.strip() or line.startswith(("Job stats", "Reasons")):
            job = None
    return jobs


def test_dry_run_parser_on_a_planted_listing():
    text = (
        "[Mon] Group job g (jobs in lexicogr. order):\n\n"
        "    [Mon]\n    rule b:\n        wildcards: condition=c1, seed=0\n"
        "        resources: tmpdir=/tmp, mem_mb=10, runtime=3\n"
        "    [Mon]\n    rule a:\n        threads: 4\n        resources: mem_mb=20, runtime=5, slots=1\n"
        "rule c:\n    resources: mem_mb=<TBD>\n\nJob stats:\n"
    )
    jobs = _dry_run_jobs(text)
    assert [(j["rule"], j["group"], j["threads"]) for j in jobs] == [("b", "g", 1), ("a", "g", 4), ("c", None, 1)]
    assert jobs[0]["wildcards"] == {"condition": "c1", "seed": "0"}
    assert jobs[1]["resources"] == {"mem_mb": "20", "runtime": "5", "slots": "1"}


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory) -> dict[str, list[dict]]:
    """Jobs of ``snakemake -n --configfile configs/test.yaml`` without a profile and under each
    SLURM profile (one copy of the workflow)."""
    wd = copy_workflow(tmp_path_factory.mktemp("slurm_dry"))
    out = {}
    for name in ("none", "profiles/slurm", "profiles/slurm-gpu"):
        # a job's threads are capped at --cores (1 when not given); the SLURM profiles set 16
        cores = ["--cores", "16"] if name == "none" else []
        proc = _snakemake(wd, "-n", *cores, "--workflow-profile", name, "--configfile", "configs/test.yaml", env=_env())
        text = proc.stdout + proc.stderr
        out[name] = _dry_run_jobs(text)
        # the parser saw every job that the dry run counts (its last "Job stats" table)
        total = int(re.findall(r"^total\s+(\d+)\s*$", text, re.M)[-1])
        assert len(out[name]) == total, (name, len(out[name]), total)
    return out


def _size(job: dict) -> dict[str, int]:
    res = job["resources"]
    return {"threads": job["threads"], "mem_mb": int(res["mem_mb"]), "runtime": int(res["runtime"])}


@pytest.mark.parametrize("profile", ["none", "profiles/slurm", "profiles/slurm-gpu"])
def test_dry_run_resolves_the_numbers_written_in_the_rules(dry_runs, profile):
    """Every job of the test study, with or without a profile: the rule's own numbers."""
    jobs = [j for j in dry_runs[profile] if j["rule"] != "all"]
    assert CORE_RULES <= {j["rule"] for j in jobs}
    for job in jobs:
        assert _size(job) == _written(job["rule"]), (profile, job["rule"], job["wildcards"])


def test_profile_and_no_profile_agree_job_by_job(dry_runs):
    def sizes(jobs):
        return sorted(
            (j["rule"], sorted(j["wildcards"].items()), sorted(_size(j).items())) for j in jobs if j["rule"] != "all"
        )

    plain = sizes(dry_runs["none"])
    # 14 train + 14 extract + 7 x (dsa_fit + 2 pairwise) + example_trial + 7 figures + 7 aggregation,
    # and whatever rules the study adds
    assert len(plain) >= 64
    assert sizes(dry_runs["profiles/slurm"]) == plain
    assert sizes(dry_runs["profiles/slurm-gpu"]) == plain


@pytest.mark.parametrize("profile", ["profiles/slurm", "profiles/slurm-gpu"])
def test_profiles_add_account_partition_and_slots(dry_runs, profile):
    for job in dry_runs[profile]:
        res = job["resources"]
        assert res["slurm_account"] == "fakeacct" and res["slurm_partition"] == "fakepart", job["rule"]
        if job["rule"] in ("train", "extract"):
            assert res["slots"] == "1"
        gpu = profile.endswith("gpu") and job["rule"] == "train"
        assert res.get("gres") == ("gpu:1" if gpu else None), (profile, job["rule"])
    # without a profile: nothing of the cluster
    for job in dry_runs["none"]:
        assert not {"slurm_account", "slurm_partition", "slots", "gres"} & set(job["resources"]), job["rule"]


def _groups(jobs: list[dict]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for j in jobs:
        if j["group"] is not None:
            out.setdefault(j["group_no"], []).append(j)
    return out


def _network(job: dict) -> tuple[str, str]:
    return job["wildcards"]["condition"], job["wildcards"]["seed"]


def test_cpu_profile_batches_each_networks_train_and_extract_together(dry_runs):
    jobs = dry_runs["profiles/slurm"]
    per_group = PROFILE["group-components"]["network"]
    groups = _groups(jobs)
    n_networks = sum(j["rule"] == "train" for j in jobs)
    assert n_networks == 14
    assert len(groups) == math.ceil(n_networks / per_group)
    for members in groups.values():
        assert {j["group"] for j in members} == {"network"}
        trains = sorted(_network(j) for j in members if j["rule"] == "train")
        extracts = sorted(_network(j) for j in members if j["rule"] == "extract")
        assert trains == extracts and 1 <= len(trains) <= per_group
        assert len(members) == 2 * len(trains)
    grouped = {j["rule"] for j in jobs if j["group"]}
    assert grouped == {"train", "extract"}


def test_gpu_profile_batches_trainings_and_extractions_apart(dry_runs):
    jobs = dry_runs["profiles/slurm-gpu"]
    sizes = GPU_PROFILE["group-components"]
    kinds = {"training": "train", "extraction": "extract"}
    counts = {"training": 0, "extraction": 0}
    for members in _groups(jobs).values():
        (group,) = {j["group"] for j in members}
        assert {j["rule"] for j in members} == {kinds[group]}
        assert 1 <= len(members) <= sizes[group]
        counts[group] += 1
    assert counts == {g: math.ceil(14 / sizes[g]) for g in kinds}


# --------------------------------------------------------------------------- profile files


def _profiles() -> dict[str, dict]:
    return {p.parent.name: yaml.safe_load(p.read_text()) for p in sorted(PROFILES.glob("*/config.yaml"))}


def test_no_profile_states_job_sizes():
    """One home: no profile sets threads, memory or runtime, neither per rule nor as defaults."""
    profiles = _profiles()
    assert {"default", "slurm", "slurm-gpu"} <= set(profiles)
    for name, prof in profiles.items():
        assert "set-threads" not in prof, name
        for rule, res in (prof.get("set-resources") or {}).items():
            assert not SIZE_KEYS & set(res), f"profiles/{name} set-resources.{rule}: {sorted(SIZE_KEYS & set(res))}"
        assert not SIZE_KEYS & set(prof.get("default-resources") or {}), name
        # the only mem_mb allowed is the per-submission cap (`resources:`), not a job size
        assert set(prof.get("resources") or {}) <= {"slots", "mem_mb"}, name


def test_study_configs_hold_no_resources():
    configs = sorted((REPO / "configs").glob("*.yaml")) + [REPO / "workflow_config.yaml"]
    assert len(configs) >= 3
    for path in configs:
        cfg = yaml.safe_load(path.read_text())
        assert "resources" not in cfg and "threads" not in cfg, path.name
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    assert schema["additionalProperties"] is False and "resources" not in schema["properties"]


def test_default_profile_has_no_resources():
    """A workflow profile replaces a --profile's keys: resources here would drop the cluster's."""
    assert DEFAULT_PROFILE["scheduler"] == "greedy" and DEFAULT_PROFILE["rerun-incomplete"] is True
    assert not {"default-resources", "set-resources", "resources", "set-threads", "executor"} & set(DEFAULT_PROFILE)


def test_rerun_triggers_are_the_same_everywhere_and_exclude_code():
    for name, prof in _profiles().items():
        assert prof["rerun-triggers"] == ["mtime", "params", "input", "software-env"], name


def test_gpu_profile_is_the_cpu_profile_plus_a_gpu_for_training():
    cpu, gpu = json.loads(json.dumps(PROFILE)), json.loads(json.dumps(GPU_PROFILE))  # deep copies
    assert gpu["set-resources"]["train"].pop("gres") == "gpu:1"
    assert gpu.pop("set-resources") == cpu.pop("set-resources")
    # the CPU profile pairs each network's train and extract; the GPU one batches them apart
    assert cpu.pop("groups") == {"train": "network", "extract": "network"}
    assert set(cpu.pop("group-components")) == {"network"}
    assert gpu.pop("groups") == {"train": "training", "extract": "extraction"}
    assert set(gpu.pop("group-components")) == {"training", "extraction"}
    assert gpu == cpu
    assert cpu["executor"] == "slurm"


# --------------------------------------------------------------------------- fake SLURM run


def _small_config(dest: Path) -> Path:
    """configs/test.yaml cut down: one experiment (flip-flop, 2 conditions x 2 seeds), fig3."""
    cfg = yaml.safe_load((REPO / "configs" / "test.yaml").read_text())
    cfg["study"] = "slurm_test"
    complexity = dict(cfg["experiments"]["complexity"], tasks=["flipflop"])
    cfg["experiments"] = {"complexity": complexity}
    cfg["tasks"] = {"flipflop": cfg["tasks"]["flipflop"]}
    cfg["figures"] = {name: (fig if name == "fig3" else {"enabled": False}) for name, fig in cfg["figures"].items()}
    path = dest / "configs" / "slurm_test.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


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
    env = _env()
    env["PATH"] = f"{bindir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["FAKE_SLURM_DIR"] = str(tmp_path / "slurm_state")
    env["FAKE_SLURM_LOG"] = str(tmp_path / "slurm_calls.jsonl")
    env["FAKE_SLURM_ACCOUNTS"] = "fakeacct"
    env["FAKE_SLURM_PARTITIONS"] = "fakepart,other"
    out = "results/slurm_test"
    targets = [
        f"{out}/networks.parquet",
        f"{out}/pairwise.parquet",
        f"{out}/summary/complexity.parquet",
        f"{out}/figures/fig3.png",
    ]
    args = [
        "--workflow-profile",
        "profiles/slurm",
        "--configfile",
        str(config.relative_to(wd)),
        "--slurm-init-seconds-before-status-checks",
        "1",
        "--slurm-keep-successful-logs",
        "--latency-wait",
        "5",
        "--local-cores",
        "1",
        # two submissions of 2 networks each (the profile has 4): they run side by side here
        "--group-components",
        "network=2",
    ]
    # what the same command would submit: group components, and every other job that is not local
    dry = _snakemake(wd, "-n", *args, "--", *targets, env=env)
    planned = _dry_run_jobs(dry.stdout + dry.stderr)
    planned_groups = {j["group_no"] for j in planned if j["group"]}
    planned_jobs: dict[str, int] = {}
    for j in planned:
        if not j["group"] and j["rule"] not in LOCAL_RULES | {"all"}:
            planned_jobs[f"rule_{j['rule']}"] = planned_jobs.get(f"rule_{j['rule']}", 0) + 1
    assert {j["rule"] for j in planned if j["group"]} == {"train", "extract"}
    _snakemake(wd, *args, "--", *targets, env=env)
    for t in targets:
        assert (wd / t).exists(), t
    assert sorted(p.name for p in (wd / "results").iterdir()) == ["slurm_test"]
    networks = pd.read_parquet(wd / out / "networks.parquet")
    assert len(networks) == 4 and networks["converged"].all()
    pairwise = pd.read_parquet(wd / out / "pairwise.parquet")
    assert set(pairwise["metric"]) >= {"dsa", "weight_aligned"}

    calls = _calls(Path(env["FAKE_SLURM_LOG"]))
    sbatch = [c for c in calls if c["cmd"] == "sbatch"]
    assert sbatch, "nothing was submitted"
    for c in sbatch:
        o = c["options"]
        assert o["-A"] == "fakeacct" and o["-p"] == "fakepart"
        assert "--parsable" in o and "--wrap" in o
        assert "--executor slurm-jobstep" in o["--wrap"]
        assert "--gres" not in o
    by_kind: dict[str, list[dict]] = {}
    for c in sbatch:
        comment = c["options"]["--comment"]
        grouped = comment.startswith("rule_network") or "group" in c["options"]["--output"]
        kind = "network" if grouped else comment.split("_wildcards")[0]
        by_kind.setdefault(kind, []).append(c["options"])
    # 4 networks (train + extract each) in group components of 2: two submissions, each asking
    # for the largest member's cpus and memory (members run one after another) and the sum of
    # the members' runtimes, all as written in the rules; never the sum of everything
    train, extract = _written("train"), _written("extract")
    groups = by_kind.pop("network")
    assert len(groups) == len(planned_groups) == 2
    for g in groups:
        assert g["--cpus-per-task"] == str(max(train["threads"], extract["threads"]))
        assert g["--mem"] == str(max(train["mem_mb"], extract["mem_mb"]))
        assert g["-t"] == str(2 * (train["runtime"] + extract["runtime"]))
        assert g["--wrap"].count("train:") == 2 and g["--wrap"].count("extract:") == 2
    # per-rule submissions, as many as the dry run planned (one per condition for the metrics),
    # each with the rule's own numbers
    assert {k: len(v) for k, v in by_kind.items()} == planned_jobs
    for rule in ("dsa_fit", "pairwise_dsa", "pairwise_weights"):
        assert len(by_kind[f"rule_{rule}"]) == 2, rule
    for rule, submissions in by_kind.items():
        size = _written(rule.removeprefix("rule_"))
        for o in submissions:
            assert o["--cpus-per-task"] == str(size["threads"]), rule
            assert o["--mem"] == str(size["mem_mb"]) and o["-t"] == str(size["runtime"]), rule
    # aggregation and figures ran locally (localrules): never submitted
    submitted = " ".join(c["options"]["--comment"] for c in sbatch)
    assert {"meta", "networks", "pairwise_all", "summary", "effects", "figure"} <= LOCAL_RULES
    for rule in LOCAL_RULES:
        assert f"rule_{rule}_" not in submitted and not submitted.endswith(f"rule_{rule}")
    # the plugin asked for job states and ran the jobs' steps through srun
    assert any(c["cmd"] in ("sacct", "squeue") for c in calls)
    assert any(c["cmd"] == "srun" for c in calls)
    assert len(sbatch) == len(planned_groups) + sum(planned_jobs.values())


def test_gpu_profile_gives_each_ensemble_job_one_gpu(tmp_path):
    """With `ensemble: K` the trainings are per-block rules (train_ensemble_<i>), which no
    profile can name: each gets what the profile sets for `train`, so one GPU per ensemble job
    under profiles/slurm-gpu and none under profiles/slurm."""
    wd = copy_workflow(tmp_path)
    for name, gres in (("profiles/slurm-gpu", "gpu:1"), ("profiles/slurm", None)):
        proc = _snakemake(
            wd,
            "-n",
            "--workflow-profile",
            name,
            "--configfile",
            "configs/test.yaml",
            "--config",
            "ensemble=2",
            env=_env(),
        )
        jobs = [j for j in _dry_run_jobs(proc.stdout + proc.stderr) if j["rule"].startswith("train")]
        assert jobs and all(j["rule"].startswith("train_ensemble_") for j in jobs), name
        for job in jobs:
            assert job["resources"].get("gres") == gres, (name, job["rule"])
            assert job["resources"]["slots"] == "1" and job["resources"]["mem_mb"] == "4000", (name, job["rule"])
