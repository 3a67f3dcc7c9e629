"""Workflow tests on the tiny study configs/test.yaml (about 2 minutes on 2 cores).

The repository's workflow files and ``src/`` are copied into a temporary directory, so the
tests never touch the repository's ``results/`` and the "edit a metric module" check edits a
copy (the job wrappers and the code hashes both use the copy's ``src/``). The study is run once
(module-scoped fixture); every rerun check is a dry run (``snakemake -n``) from that state with a
modified copy of the config, and compares job counts per rule.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TEST_CONFIG = REPO / "configs" / "test.yaml"

sys.path.insert(0, str(REPO / "src"))
from degeneracy.conditions import build_study, chunk_block, grid_block, pair_chunks, seed_blocks  # noqa: E402
from workflow_copy import copy_workflow  # noqa: E402

pytestmark = pytest.mark.slow

# Documented schemas (docs/workflow.md, "Outputs and their schemas"): column -> dtype kind.
STRING = "string"
SCHEMAS = {
    "meta": {"experiment": STRING, "factor": STRING, "task": STRING, "level": "float64", "condition": STRING},
    "network": {
        "condition": STRING,
        "seed": "int64",
        "status": STRING,
        "converged": "bool",
        "epochs": "int64",
        "steps": "int64",
        "final_loss": "float64",
        "ood_mse": "float64",
        "weight_change": "float64",
        "weight_change_rel": "float64",
        "kernel_alignment": "float64",
        "n_units": "int64",
    },
    "pairwise": {"condition": STRING, "seed_a": "int64", "seed_b": "int64", "metric": STRING, "value": "float64"},
    "train_log": {"epoch": "int64", "steps": "int64", "loss": "float64", "lr": "float64", "elapsed_s": "float64"},
    "weights": {"i": "int32", "j": "int32", "value": "float64"},
    "dsa_operators": {"seed": "int64", "matrix": STRING, "i": "int32", "j": "int32", "value": "float64"},
    "dsa_null": {"condition": STRING, "seed": "int64", "value": "float64"},
    "example_trial": {"condition": STRING, "time": "int64", "channel": "int64", "kind": STRING, "value": "float64"},
}


def _snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", *args]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def _job_counts(text: str) -> dict[str, int]:
    """Per-rule job counts of a dry run ('Job stats' table); {} when nothing is to be done."""
    if "Nothing to be done" in text:
        return {}
    m = re.search(r"Job stats:\n.*?\n-+\s+-+\n(.*?)\ntotal\s+\d+", text, re.S)
    assert m, f"no job stats in snakemake output:\n{text[-3000:]}"
    counts = {}
    for line in m.group(1).strip().splitlines():
        rule, n = line.split()
        counts[rule] = int(n)
    counts.pop("all", None)
    return counts


def _write_config(workdir: Path, cfg: dict, name: str) -> Path:
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def dry_run(workdir: Path, cfg: dict | None = None, targets: tuple[str, ...] = (), name: str = "cfg") -> dict[str, int]:
    config = TEST_CONFIG if cfg is None else _write_config(workdir, cfg, name)
    proc = _snakemake(workdir, "-n", *targets, "--configfile", str(config))
    return _job_counts(proc.stdout + proc.stderr)


def base_config() -> dict:
    return yaml.safe_load(TEST_CONFIG.read_text())


def expected_counts(cfg: dict) -> dict[str, int]:
    study = build_study(cfg)
    n_networks = sum(len(c.seeds) for c in study.conditions.values())
    n_cond = len(study.conditions)
    ppj = study.config["pairwise"]["pairs_per_job"]

    def shape(c):
        return int(c.config["model"].get("n_units", 128)), int(c.analysis["probe"]["n_trials"])

    def chunks(c):
        return len(pair_chunks(c.seeds, block=chunk_block(ppj, *shape(c))))

    grid = study.config["dsa_grid"]

    def grid_blocks(c):
        seeds = sorted(c.seeds)[: grid["max_networks"] or None]
        return len(seed_blocks(seeds, grid_block(grid["networks_per_job"], *shape(c))))

    return {
        "train": n_networks,
        "extract": n_networks,
        "dsa_fit": n_cond,
        "pairwise_dsa": n_cond,
        # one chunk per condition at the test study's seeds (tests/test_pairwise_chunks.py: more)
        "pairwise_weights": sum(chunks(c) for c in study.conditions.values()),
        "pairwise_svcca": sum(chunks(c) for c in study.conditions.values()),
        "pairwise_weights_gather": n_cond,
        "pairwise_svcca_gather": n_cond,
        "dsa_grid": n_cond,
        "dsa_grid_fit": sum(grid_blocks(c) for c in study.conditions.values()),
        "joint_dsa": len({(r["experiment"], r["task"]) for r in study.meta if r["experiment"] == "complexity"}),
        "summary": len(study.experiments),
        "meta": 1,
        "networks": 1,
        "pairwise_all": 1,
        "effects": 1,
        "figure": len(study.figures),
        "example_trial": len(study.figures["example_trial"]["networks"]) if "example_trial" in study.figures else 0,
        "fixed_points": len(
            study.jobs([e for e in study.config["fixed_points"]["experiments"] if e in study.experiments])
        ),
    }


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    """A copy of the workflow with no results (for dry runs of the complete DAG)."""
    return copy_workflow(tmp_path_factory.mktemp("fresh"))


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory) -> Path:
    """A copy of the workflow on which the test study has run to completion."""
    d = copy_workflow(tmp_path_factory.mktemp("study"))
    _snakemake(d, "--cores", "2", "--configfile", str(TEST_CONFIG))
    return d


# ----------------------------------------------------------------------------- static checks


def test_dry_run_job_counts_match_config(fresh):
    cfg = base_config()
    counts = dry_run(fresh, cfg)
    expected = {k: v for k, v in expected_counts(cfg).items() if v}
    assert counts == expected
    # the shared condition (complexity level 1 == l1 level 0) is trained once
    study = build_study(cfg)
    shared = [c for c in study.conditions.values() if len(c.experiments) > 1]
    assert shared and counts["train"] < sum(len(study.experiments[e]) * 2 for e in study.experiments)


def test_default_study_dry_run(fresh):
    cfg = yaml.safe_load((REPO / "workflow_config.yaml").read_text())
    proc = _snakemake(fresh, "-n")
    counts = _job_counts(proc.stdout + proc.stderr)
    assert counts == {k: v for k, v in expected_counts(cfg).items() if v}


def test_single_figure_builds_only_its_ancestors(fresh):
    cfg = base_config()
    study = build_study(cfg)
    l1_conditions = study.experiments["l1"]
    n_l1 = sum(len(study.conditions[c].seeds) for c in l1_conditions)
    counts = dry_run(fresh, cfg, targets=("results/test/figures/fig8.png",))
    assert counts == {
        "train": n_l1,
        "extract": n_l1,
        "dsa_fit": len(l1_conditions),
        "pairwise_dsa": len(l1_conditions),
        "pairwise_weights": len(l1_conditions),
        "pairwise_svcca": len(l1_conditions),
        "pairwise_weights_gather": len(l1_conditions),
        "pairwise_svcca_gather": len(l1_conditions),
        "summary": 1,
        "figure": 1,
    }
    # the training-curves figure needs only training
    counts = dry_run(fresh, cfg, targets=("results/test/figures/training_curves.png",))
    assert set(counts) == {"train", "figure"}


def test_invalid_config_is_rejected(fresh):
    cfg = base_config()
    cfg["tasks"]["flipflop"]["dsa"]["rnak"] = 3  # typo
    path = _write_config(fresh, cfg, "typo")
    proc = _snakemake(fresh, "-n", "--configfile", str(path), check=False)
    assert proc.returncode != 0
    assert "rnak" in proc.stdout + proc.stderr


def test_lint_clean(fresh):
    proc = _snakemake(fresh, "--lint", "--configfile", str(TEST_CONFIG))
    assert "Congratulations" in proc.stdout + proc.stderr


def test_snakefmt_formatted():
    repo = Path(__file__).resolve().parents[1]
    snakefmt = Path(sys.executable).with_name("snakefmt")
    proc = subprocess.run(
        [str(snakefmt), "--check", "Snakefile", "rules/"], cwd=repo, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ----------------------------------------------------------------------------- full run


def _check_schema(path: Path, schema: dict[str, str]) -> pd.DataFrame:
    df = pd.read_parquet(path)
    assert list(df.columns)[: len(schema)] == list(schema) or set(schema) <= set(df.columns), path
    for col, kind in schema.items():
        dtype = df[col].dtype
        if kind == STRING:
            assert pd.api.types.is_string_dtype(dtype), (path, col, dtype)
        else:
            assert str(dtype) == kind, (path, col, dtype)
    return df


def test_full_run_outputs_and_schemas(study_dir):
    cfg = base_config()
    study = build_study(cfg)
    r = study_dir / "results" / "test"
    meta = _check_schema(r / "meta.parquet", SCHEMAS["meta"])
    assert len(meta) == len(study.meta)
    nets = _check_schema(r / "networks.parquet", SCHEMAS["network"])
    assert len(nets) == sum(len(c.seeds) for c in study.conditions.values())
    pairs = _check_schema(r / "pairwise.parquet", SCHEMAS["pairwise"])
    assert (
        {"dsa", "dsa_null", "weight_aligned", "svcca"}
        <= set(pairs["metric"])
        <= {
            "dsa",
            "dsa_null",
            "svcca",
            "svcca_probe2",
            "weight_aligned",
            "weight_aligned_per_n2",
            "weight_unaligned",
            "weight_gap",
            "weight_scale_free",
            "weight_aligned_init",
            "weight_scale_free_init",
            "weight_ratio_init",
        }
    )
    null = pairs[pairs["metric"] == "dsa_null"]
    assert (null["seed_a"] == null["seed_b"]).all()
    other = pairs[pairs["metric"] != "dsa_null"]
    assert (other["seed_a"] < other["seed_b"]).all()
    for cid, c in study.conditions.items():
        for s in c.seeds:
            e = r / "extract" / cid / f"seed{s}"
            _check_schema(r / "train" / cid / f"seed{s}.log.parquet", SCHEMAS["train_log"])
            _check_schema(e / "network.parquet", SCHEMAS["network"])
            _check_schema(e / "weights.parquet", SCHEMAS["weights"])
            traj = pd.read_parquet(e / "trajectories.parquet")
            n_units = int(nets.loc[(nets.condition == cid) & (nets.seed == s), "n_units"].iloc[0])
            assert list(traj.columns) == ["trial", "time"] + [f"h{i}" for i in range(n_units)]
            assert len(traj) == cfg["tasks"][c.task]["probe"]["n_trials"] * traj["time"].nunique()
        ops = _check_schema(r / "dsa" / cid / "operators.parquet", SCHEMAS["dsa_operators"])
        null = _check_schema(r / "dsa" / cid / "null.parquet", SCHEMAS["dsa_null"])
        converged = sorted(nets.loc[(nets.condition == cid) & nets.converged, "seed"])
        assert sorted(ops["seed"].unique()) == converged == sorted(null["seed"])
        assert set(ops["matrix"]) == {"A", "singular_values"}
        for metric in ("dsa", "weights", "svcca"):
            _check_schema(r / "pairwise" / cid / f"{metric}.parquet", SCHEMAS["pairwise"])
        assert (r / "svcca" / cid / "spectrum.parquet").is_file()
    for exp in study.experiments:
        summ = pd.read_parquet(r / "summary" / f"{exp}.parquet")
        assert set(summ["condition"]) == set(study.experiments[exp])
    eff = pd.read_parquet(r / "effects.parquet")
    assert {"experiment", "factor", "task", "rho"} <= set(eff.columns)
    assert (r / "effects.md").stat().st_size > 0
    ex = study.figures["example_trial"]
    trial = _check_schema(
        r / "extract" / ex["condition"] / f"seed{ex['seed']}" / "example_trial.parquet", SCHEMAS["example_trial"]
    )
    assert {"input", "target", "output"} <= set(trial["kind"]) <= {"input", "target", "output", "mask"}
    for name in study.figures:
        for ext in ("png", "pdf"):
            assert (r / "figures" / f"{name}.{ext}").stat().st_size > 0


def test_second_run_does_nothing(study_dir):
    assert dry_run(study_dir, base_config()) == {}


def test_dsa_setting_reruns_no_training_or_extraction(study_dir):
    cfg = base_config()
    cfg["tasks"]["flipflop"]["dsa"]["rank"] += 1
    counts = dry_run(study_dir, cfg, name="dsa")
    n = len([c for c in build_study(cfg).conditions.values() if c.task == "flipflop"])
    assert counts["dsa_fit"] == counts["pairwise_dsa"] == counts["dsa_grid"] == counts["dsa_grid_fit"] == n
    for rule in ("train", "extract", "pairwise_weights", "example_trial", "meta", "networks"):
        assert rule not in counts, (rule, counts)


def test_figure_setting_reruns_only_that_figure(study_dir):
    cfg = base_config()
    cfg["figures"]["fig3"]["rc"]["savefig.dpi"] = 51
    assert dry_run(study_dir, cfg, name="fig") == {"figure": 1}


def test_adding_a_seed(study_dir):
    cfg = base_config()
    cfg["experiments"]["l1"]["seeds"] = 3  # new seed 2 for both l1 conditions (one is shared)
    study = build_study(cfg)
    affected = study.experiments["l1"]
    counts = dry_run(study_dir, cfg, name="seed")
    assert counts["train"] == len(affected)
    assert counts["extract"] == len(affected)
    assert counts["dsa_fit"] == counts["pairwise_dsa"] == counts["pairwise_weights"] == len(affected)
    assert "meta" not in counts and "example_trial" not in counts
    # the shared condition belongs to both experiments: both summaries are downstream
    assert counts["summary"] == 2


def test_re_extracting_a_network_reruns_every_job_that_reads_its_row(study_dir):
    """The metric and summary jobs name the networks' rows in `params: networks`, not as inputs
    (rules/metrics.smk): they must still rerun whenever the extract job that writes a row reruns,
    through the trajectories and weights the same job writes."""
    cfg = base_config()
    study = build_study(cfg)
    cid = sorted(study.experiments["l1"])[0]
    seed = study.conditions[cid].seeds[0]
    row = f"results/test/extract/{cid}/seed{seed}/network.parquet"
    assert (study_dir / row).is_file()
    counts = dry_run(study_dir, cfg, targets=("--forcerun", row), name="reextract")
    assert counts["extract"] == 1 and "train" not in counts
    for rule in ("dsa_fit", "pairwise_dsa", "pairwise_weights", "pairwise_svcca", "dsa_grid_fit", "dsa_grid"):
        assert counts.get(rule) == 1, (rule, counts)
    # every experiment that holds the condition
    holders = [e for e, conds in study.experiments.items() if cid in conds]
    assert counts["summary"] == len(holders), (holders, counts)
    assert counts["networks"] == counts["effects"] == 1


def test_adding_a_level(study_dir):
    cfg = base_config()
    cfg["experiments"]["complexity"]["levels"] = [1, 2, 3]
    counts = dry_run(study_dir, cfg, name="level")
    old, new = build_study(base_config()), build_study(cfg)
    added = sorted(set(new.conditions) - set(old.conditions))
    assert len(added) == 2  # flip-flop and delayed discrimination at 3 channels
    seeds = sum(len(new.conditions[c].seeds) for c in added)
    assert counts["train"] == counts["extract"] == seeds
    assert counts["dsa_fit"] == counts["pairwise_dsa"] == counts["pairwise_weights"] == len(added)
    assert counts["summary"] == 1  # only the complexity experiment
    assert counts["meta"] == counts["networks"] == counts["pairwise_all"] == counts["effects"] == 1
    assert "example_trial" not in counts


@pytest.mark.parametrize(
    "module, reruns, untouched",
    [
        ("metrics/dsa.py", {"dsa_fit", "pairwise_dsa"}, {"train", "extract", "pairwise_weights"}),
        ("metrics/weights.py", {"pairwise_weights"}, {"train", "extract", "dsa_fit", "pairwise_dsa"}),
    ],
)
def test_editing_a_metric_module(study_dir, module, reruns, untouched):
    path = study_dir / "src" / "degeneracy" / module
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# edited by test_workflow\n")
        counts = dry_run(study_dir, base_config(), name="edit")
    finally:
        path.write_bytes(original)
    n = expected_counts(base_config())
    for rule in reruns:
        assert counts[rule] == n[rule], (rule, counts)
    for rule in untouched:
        assert rule not in counts, (rule, counts)
    assert dry_run(study_dir, base_config()) == {}


def test_report(study_dir):
    _snakemake(study_dir, "--configfile", str(TEST_CONFIG), "--report", "report.html")
    assert (study_dir / "report.html").stat().st_size > 10_000


# ----------------------------------------------------------------------------- scoped code reruns


def _networks(pred) -> int:
    study = build_study(base_config())
    return sum(len(c.seeds) for c in study.conditions.values() if pred(c))


def _stats_module(root: Path) -> str:
    pkg = root / "src" / "degeneracy"
    return "stats/effects.py" if (pkg / "stats" / "effects.py").exists() else "stats.py"


@pytest.mark.parametrize(
    "module, expected",
    [
        ("tasks/flipflop.py", lambda c: c.task == "flipflop"),
        ("tasks/delayed_discrimination.py", lambda c: c.task == "delayed_discrimination"),
        ("models/mup.py", lambda c: c.config["model"]["kind"] == "mup"),
        ("models/standard.py", lambda c: c.config["model"]["kind"] == "standard"),
        ("training/loop.py", lambda c: True),
    ],
)
def test_code_edit_retrains_only_what_runs_it(study_dir, module, expected):
    path = study_dir / "src" / "degeneracy" / module
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# edited by test_workflow\n")
        counts = dry_run(study_dir, base_config(), name="edit")
    finally:
        path.write_bytes(original)
    n = _networks(expected)
    assert 0 < n
    assert counts.get("train", 0) == n, (module, counts)
    if module.startswith(("tasks/", "models/")):
        assert counts.get("extract", 0) == n, (module, counts)
    assert dry_run(study_dir, base_config()) == {}


def test_editing_the_statistics_reruns_only_tables_and_figures(study_dir):
    module = _stats_module(study_dir)
    path = study_dir / "src" / "degeneracy" / module
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# edited by test_workflow\n")
        counts = dry_run(study_dir, base_config(), name="edit")
    finally:
        path.write_bytes(original)
    assert counts.get("effects") == 1 and counts.get("figure", 0) >= 1, counts
    assert not {"train", "extract", "dsa_fit", "pairwise_dsa", "pairwise_weights"} & set(counts), counts


# ----------------------------------------------------------------------------- portable results


def test_adopted_results_in_a_fresh_clone_need_nothing(study_dir, tmp_path):
    """A finished study adopted into a fresh copy of the workflow (new file times everywhere in
    the code, as after a clone) plans no job; a later setting change still re-runs its jobs."""
    from degeneracy.adopt import adopt

    (tmp_path / "clone").mkdir()
    clone = copy_workflow(tmp_path / "clone")
    for path in (clone / "rules").rglob("*"):
        path.touch()
    for path in (clone / "src").rglob("*.py"):
        path.touch()
    n_files, n_records = adopt(study_dir, "test", clone)
    assert n_files > 0 and n_records > 0
    assert dry_run(clone, base_config()) == {}
    cfg = base_config()
    cfg["tasks"]["flipflop"]["dsa"]["rank"] += 1
    counts = dry_run(clone, cfg, name="dsa")
    assert counts["dsa_fit"] == len([c for c in build_study(cfg).conditions.values() if c.task == "flipflop"])
    assert "train" not in counts


# ----------------------------------------------------------------------------- subsets and roots


def test_subset_run_has_its_own_output_root(fresh):
    proc = _snakemake(fresh, "-n", "--configfile", str(TEST_CONFIG), "--config", "only=[l1]", "seeds=3")
    out = proc.stdout + proc.stderr
    counts = _job_counts(out)
    cfg = base_config()
    cfg["only"], cfg["seeds"] = ["l1"], 3
    study = build_study(cfg)
    assert study.root == "results/test+only=l1+seeds=3"
    assert counts["train"] == 3 * len(study.conditions) == 6
    assert f"{study.root}/effects.md" in out
    assert "results/test/" not in out  # never the full study's files


def test_each_study_writes_under_its_own_root(fresh):
    for config, root in ((TEST_CONFIG, "results/test/"), (REPO / "workflow_config.yaml", "results/default/")):
        proc = _snakemake(fresh, "-n", "--configfile", str(config))
        out = proc.stdout
        paths = re.findall(r"output: (\S+)", out)
        assert paths and all(p.rstrip(",").startswith(root) for p in paths), (root, paths[:3])


# ----------------------------------------------------------------------------- ensemble training


def test_ensemble_path_gives_the_same_networks(study_dir, tmp_path):
    """The test study trained in blocks of 2 seeds (`ensemble: 2`) gives the networks table of
    separate training, within float tolerance."""
    (tmp_path / "ens").mkdir()
    ens = copy_workflow(tmp_path / "ens")
    targets = ["results/test/networks.parquet"]
    proc = _snakemake(ens, "-n", *targets, "--configfile", str(TEST_CONFIG), "--config", "ensemble=2")
    counts = _job_counts(proc.stdout + proc.stderr)
    assert "train" not in counts and sum(v for k, v in counts.items() if k.startswith("train_ensemble")) == 7
    _snakemake(ens, "--cores", "2", *targets, "--configfile", str(TEST_CONFIG), "--config", "ensemble=2")
    a = pd.read_parquet(study_dir / "results" / "test" / "networks.parquet").sort_values(["condition", "seed"])
    b = pd.read_parquet(ens / "results" / "test" / "networks.parquet").sort_values(["condition", "seed"])
    assert list(a["status"]) == list(b["status"]) and list(a["epochs"]) == list(b["epochs"])
    for col in ("final_loss", "eval_mse", "ood_mse", "weight_change"):
        assert np.allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-3, atol=1e-6, equal_nan=True), col


# ----------------------------------------------------------------------------- your own task
# (last in this module: it extends the finished test study)


def test_own_task_by_import_path_runs_and_retrains_nothing_else(study_dir):
    """A task class outside the package (examples/my_tasks.py), named in the config by import
    path: the dry run plans only its networks, and the study then runs it end to end."""
    import os
    import shutil

    shutil.copytree(REPO / "examples", study_dir / "examples", dirs_exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(study_dir / "examples")}
    overlay = REPO / "configs" / "own_task.yaml"
    args = ["--configfile", str(TEST_CONFIG), str(overlay)]
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", *args], cwd=study_dir, env=env, capture_output=True, text=True
    )
    counts = _job_counts(proc.stdout + proc.stderr)
    assert counts["train"] == counts["extract"] == 4, counts  # 2 levels x 2 seeds, nothing else
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=study_dir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = pd.read_parquet(study_dir / "results" / "test" / "summary" / "own.parquet")
    assert len(summary) == 2
    effects = (study_dir / "results" / "test" / "effects.md").read_text()
    assert "my_tasks:Integrator" in effects
