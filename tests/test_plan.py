"""The pilot and cost planner (``python -m degeneracy plan``): benchmark-TSV reading, the pilot
overlay, the cost projection on planted timings, and two real pilots of the tiny test study in a
temporary copy of the workflow (one that passes, one whose threshold no network can reach)."""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TEST_CONFIG = REPO / "configs" / "test.yaml"
sys.path.insert(0, str(REPO / "src"))
from workflow_copy import copy_workflow

from degeneracy.plan import (
    StageCost,
    condition_table,
    full_budget_seconds,
    job_scaled_stages,
    pilot_overlay,
    project,
    render,
    read_benchmarks,
    rule_resources,
    stage_table,
)
from degeneracy.validation import checked_study

#: the l1 experiment of configs/test.yaml: flipflop, n = 8, lambda 0 and 1e-3
L1_CONDITIONS = ["flipflop-ch1-standard-n8", "flipflop-ch1-standard-n8-l1_0.001"]
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _tsv(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:00\t1\t1\t1\t1\t0\t0\t50\t{seconds / 2}\n")


def test_stage_table_sums_planted_benchmarks(tmp_path):
    _tsv(tmp_path / "benchmarks/train/c1/seed0.tsv", 10.0)
    _tsv(tmp_path / "benchmarks/train/c1/seed1.tsv", 30.0)
    _tsv(tmp_path / "benchmarks/extract/c1/seed0.tsv", 5.0)
    _tsv(tmp_path / "benchmarks/dsa_fit/c1.tsv", 4.0)
    _tsv(tmp_path / "benchmarks/pairwise/c1/dsa.tsv", 6.0)
    _tsv(tmp_path / "benchmarks/pairwise/c1/weights.tsv", 20.0)
    _tsv(tmp_path / "benchmarks/aggregate/meta.tsv", 1.0)
    _tsv(tmp_path / "benchmarks/aggregate/summary_width.tsv", 3.0)
    _tsv(tmp_path / "benchmarks/figures/fig3.tsv", 7.0)
    _tsv(tmp_path / "benchmarks/example_trial/c1/seed0.tsv", 2.0)
    bench = read_benchmarks(tmp_path)
    assert len(bench) == 10
    row = bench[bench["path"] == "train/c1/seed1.tsv"].iloc[0]
    assert (row.stage, row.condition, row.seed, row.s, row.cpu_time) == ("train", "c1", 1, 30.0, 15.0)
    table = stage_table(bench).set_index("stage")
    assert list(table.index) == [
        "train",
        "extract",
        "dsa_fit",
        "pairwise_dsa",
        "pairwise_weights",
        "aggregation",
        "figures",
        "total",
    ]
    assert table.loc["train", "jobs"] == 2 and table.loc["train", "total_s"] == 40.0
    assert table.loc["train", "mean_s"] == 20.0 and table.loc["train", "max_s"] == 30.0
    assert table.loc["aggregation", "total_s"] == 4.0
    assert table.loc["figures", "total_s"] == 9.0  # the example-trial extraction belongs to its figure
    assert table.loc["total", "total_s"] == 88.0
    assert table.loc["pairwise_weights", "share"] == pytest.approx(20.0 / 88.0)


def test_pilot_overlay_scales_every_epoch_budget():
    config = {
        "study": "paper",
        "training": {"max_epochs": 1000},
        "tasks": {"sine": {"training": {"max_epochs": 300}}, "flipflop": {"training": {"lr": 1e-3}}},
        "experiments": {
            "gamma": {"settings": {"training": {"max_epochs": 50, "lr": 0.05}}},
            "width": {"settings": {"training": {"lr": 0.05}}},
        },
    }
    overlay = pilot_overlay(config, 3, budget_scale=0.1, suffix="pilot", only=["gamma"])
    assert overlay == {
        "study": "paper-pilot",
        "seeds": 3,
        "only": ["gamma"],
        "training": {"max_epochs": 100},
        "tasks": {"sine": {"training": {"max_epochs": 30}}},
        "experiments": {"gamma": {"settings": {"training": {"max_epochs": 5}}}},
    }
    # full budget: only the name and the seeds change; no budget key at all
    assert pilot_overlay({"study": "x"}, 2) == {"study": "x-pilot", "seeds": 2}
    # a global budget left to the library default (1,000 epochs) is scaled too
    assert pilot_overlay({}, 2, budget_scale=0.01)["training"] == {"max_epochs": 10}


def test_pilot_overlay_extremes_keeps_first_and_last_level_per_task():
    config = {
        "study": "paper",
        "experiments": {
            "width": {"levels": [32, 64, 128, 512], "settings": {"training": {"max_epochs": 40}}},
            "aux": {"levels": [False, True]},
            "complexity": {"levels": {"flipflop": [1, 2, 3, 4, 5], "path_integration": [2, 3]}},
        },
    }
    overlay = pilot_overlay(config, 2, budget_scale=0.5, extremes=True)
    assert overlay["experiments"] == {
        "width": {"settings": {"training": {"max_epochs": 20}}, "levels": [32, 512]},
        "aux": {"levels": [False, True]},
        "complexity": {"levels": {"flipflop": [1, 5], "path_integration": [2, 3]}},
    }
    # with --only, the other experiments are left alone
    assert set(pilot_overlay(config, 2, only=["width"], extremes=True)["experiments"]) == {"width"}
    # and the overlay really selects those levels: paper.yaml's pilot study has only the extremes
    from degeneracy.conditions import deep_merge
    from degeneracy.plan import load_config

    paper = load_config(Path(__file__).resolve().parents[1] / "configs" / "paper.yaml")
    study = checked_study(deep_merge(paper, pilot_overlay(paper, 2, only=["width"], extremes=True)))
    widths = sorted({c.config["model"]["n_units"] for c in study.conditions.values()})
    assert widths == [32, 512]


def test_pilot_overlay_tasks_narrows_every_experiment_to_those_tasks():
    from degeneracy.conditions import deep_merge
    from degeneracy.plan import load_config

    paper = load_config(Path(__file__).resolve().parents[1] / "configs" / "paper.yaml")
    overlay = pilot_overlay(paper, 2, tasks=["lorenz96"], extremes=True)
    # only the complexity experiment trains Lorenz-96; the name says which tasks were piloted
    assert overlay["only"] == ["complexity"]
    assert overlay["experiments"]["complexity"]["tasks"] == ["lorenz96"]
    assert overlay["study"] == "paper-pilot+tasks=lorenz96"
    study = checked_study(deep_merge(paper, overlay))
    got = sorted((c.config["task"]["name"], c.config["task"]["n_vars"]) for c in study.conditions.values())
    assert got == [("lorenz96", 5), ("lorenz96", 12)]  # paper.yaml's first and last level
    # with --only, the tasks are narrowed within those experiments only
    sine = pilot_overlay(paper, 2, only=["l1", "gamma"], tasks=["sine", "path_integration"])
    assert sorted(sine["only"]) == ["gamma", "l1"]
    assert sine["experiments"] == {
        "l1": {"tasks": ["sine", "path_integration"]},
        "gamma": {"tasks": ["path_integration"]},
    }
    tasks = {c.config["task"]["name"] for c in checked_study(deep_merge(paper, sine)).conditions.values()}
    assert tasks == {"sine", "path_integration"}
    # a task no kept experiment trains is an error, not an empty pilot
    with pytest.raises(ValueError, match="lorenz96"):
        pilot_overlay(paper, 2, only=["gamma"], tasks=["lorenz96"])
    # and so is a misspelt task beside a real one (it would silently pilot less than asked)
    with pytest.raises(ValueError, match="--tasks lorenz69: no experiment trains this task"):
        pilot_overlay(paper, 2, tasks=["sine", "lorenz69"])


def test_condition_table_flags_and_projection_on_planted_pilot(tmp_path):
    full = checked_study(yaml.safe_load(TEST_CONFIG.read_text()))
    a, b = L1_CONDITIONS
    networks = pd.DataFrame(
        {
            "condition": [a, a, b, b],
            "seed": [0, 1, 0, 1],
            "status": ["converged", "converged", "not_converged", "not_converged"],
            "converged": [True, True, False, False],
            "steps": [40, 60, 100, 100],
            "epochs": [2, 3, 5, 5],
        }
    )
    pairwise = pd.DataFrame(
        {
            "condition": [a, a, a],
            "seed_a": [0, 1, 0],
            "seed_b": [0, 1, 1],
            "metric": ["dsa_null", "dsa_null", "dsa"],
            "value": [0.5, 0.7, 0.4],
        }
    )
    for cid in (a, b):
        for seed, secs in ((0, 10.0), (1, 30.0)):
            _tsv(tmp_path / f"benchmarks/train/{cid}/seed{seed}.tsv", secs)
            _tsv(tmp_path / f"benchmarks/extract/{cid}/seed{seed}.tsv", 4.0)
    bench = read_benchmarks(tmp_path)
    table = condition_table(networks, pairwise, bench).set_index("condition")
    assert table.loc[a, "n_converged"] == 2 and table.loc[a, "steps_converged"] == 50.0
    assert table.loc[a, "dsa_null"] == pytest.approx(0.6) and table.loc[a, "dsa_between"] == 0.4
    assert table.loc[a, "flag"] == (
        "DSA null 0.6 >= between 0.4: DSA null >= between (no DSA grid to tell a robust floor from a setting)"
    )
    assert table.loc[b, "flag"] == "0 of 2 converged (< 80%)" and math.isnan(table.loc[b, "steps_converged"])
    assert table.loc[a, "train_s"] == 20.0  # median of 10 and 30

    # planted runs: a converged at its measured time; b ran out of a 5-epoch pilot budget,
    # 4 s start-up + 16 s of training: at 50 epochs 4 + 16 x 10 = 164 s
    runs = pd.DataFrame({"condition": [a, a, b, b], "seed": [0, 1, 0, 1], "full_s": [10.0, 30.0, 164.0, 164.0]})
    costs = {
        "dsa_fit": StageCost(2.0, {a: 1.0}),
        "pairwise_dsa": StageCost(1.0, {a: 0.5}),
        "pairwise_weights": StageCost(0.0, {a: 3.0}),
    }
    resources = rule_resources(REPO)
    proj = project(full, table.reset_index(), runs, bench, costs, resources)
    pc = proj.per_condition.set_index("condition")
    assert len(pc) == 7 and pc["networks"].sum() == 14 and pc["pairs"].sum() == 7
    assert pc.loc[a, "train"] == pytest.approx(40.0) and pc.loc[b, "train"] == pytest.approx(328.0)
    assert pc.loc[a, "extract"] == pytest.approx(8.0)
    # per condition, 2 seeds: dsa_fit 2 s + 2 x 1 s; pairwise_dsa (1 s + 1 pair x 0.5 s) x its threads
    assert pc.loc[a, "dsa_fit"] == pytest.approx(4.0 * resources["dsa_fit"].get("threads", 1))
    assert pc.loc[b, "pairwise_dsa"] == pytest.approx(1.5 * resources["pairwise_dsa"]["threads"])
    # flip-flop conditions the pilot did not run take the piloted median (equal width factors):
    # (20 + 164) / 2 per network, 2 each; delayed discrimination, which the pilot did not run at
    # all, takes the cost model's own value (degeneracy.plan.measured_costs), not flip-flop's
    from degeneracy.plan import measured_costs

    other = pc.drop(index=[a, b])
    ff = [c for c in other.index if full.conditions[c].task == "flipflop"]
    dd = [c for c in other.index if full.conditions[c].task == "delayed_discrimination"]
    assert len(ff) == 3 and len(dd) == 2
    assert other.loc[ff, "train"].tolist() == pytest.approx([184.0] * 3)
    model_dd = [2 * measured_costs(full.conditions[c], "train", 1)[0] for c in dd]
    assert other.loc[dd, "train"].tolist() == pytest.approx(model_dd) and model_dd[0] != pytest.approx(184.0)
    stages = proj.stages.set_index("stage")["core_hours"]
    assert stages["train"] == pytest.approx((40 + 328 + 3 * 184 + sum(model_dd)) / 3600)
    assert proj.longest_s == pytest.approx(max(164.0, max(model_dd) / 2)) and proj.longest_job.startswith("train ")

    # every stage's longest job is held against its rule's runtime request (minutes): a's
    # dsa_fit job takes 4 s x threads, above a planted 0.05-min (3 s) request, not above 1 min
    tight = {**resources, "dsa_fit": {**resources["dsa_fit"], "runtime": 0.05}}
    text = render("test.yaml", str(tmp_path), table.reset_index(), proj, costs, 2, tight)
    assert "projected longest dsa_fit job" in text and "runtime request of 0.05 min" in text
    loose = {**resources, "dsa_fit": {**resources["dsa_fit"], "runtime": 1}}
    assert "longest dsa_fit job" not in render("test.yaml", str(tmp_path), table.reset_index(), proj, costs, 2, loose)
    assert "## At DSA floor (robust) (0)" in text and "## Flags (2)" in text
    # a robust floor is listed as a finding, shown in the table, and is not a flag
    robust = table.reset_index()
    robust.loc[robust["condition"] == a, ["floor", "flag"]] = ["robust", ""]
    text = render("test.yaml", str(tmp_path), robust, proj, costs, 2, loose)
    assert "## At DSA floor (robust) (1)" in text and f"- {a}: DSA null 0.6 >= between 0.4" in text
    assert "| at DSA floor (robust) |" in text and "## Flags (1)" in text and f"FLAG {a}:" not in text


def test_an_unpiloted_width_borrows_the_piloted_costs_scaled_to_its_width(tmp_path):
    """A width pilot at its extremes (n = 32 and 512) projects n = 128 from the costliest
    measurement of the task (n = 512, where start-up weighs least), scaled by the cost model,
    not from the raw median: planted at k x the model's per-pair weight cost at n = 512 and a
    start-up-dominated 0.5 s per pair at n = 32, n = 128 gets k x the model's cost at 128 (the raw
    median would be about 15x larger); a training that took T seconds x width_factor(n) at both
    widths gives T at n = 128. A task the pilot did not run takes the cost model's value."""
    from degeneracy import costs as cost_model
    from degeneracy.plan import pilot_cost, width_factor

    config = yaml.safe_load(TEST_CONFIG.read_text())
    config["experiments"]["width"] = {
        "factor": "width",
        "tasks": ["flipflop"],
        "parameter": "model.n_units",
        "levels": [32, 128, 512],
        "seeds": 4,
        "model": {"kind": "mup", "gamma": 1.0},
    }
    full = checked_study(config)
    c32, c128, c512 = (f"flipflop-ch1-mup-n{n}-g1" for n in (32, 128, 512))
    k, t = 2.0, 50.0
    per_pair = {c32: 0.5, c512: k * cost_model.weights_pair_s(512)}
    costs = {"pairwise_weights": StageCost(0.0, per_pair)}
    runs = pd.DataFrame(
        {"condition": [c32, c512], "seed": [0, 0], "full_s": [t * width_factor(32), t * width_factor(512)]}
    )
    table = pd.DataFrame({"condition": [c32, c512], "n": [1, 1]})
    bench = pd.DataFrame(columns=["stage", "condition", "s"])
    resources = rule_resources(REPO)
    proj = project(full, table, runs, bench, costs, resources)
    pc = proj.per_condition.set_index("condition")
    threads = resources["pairwise_weights"].get("threads", 1)
    assert pc.loc[c128, "pairwise_weights"] == pytest.approx(6 * k * cost_model.weights_pair_s(128) * threads)
    assert pc.loc[c512, "pairwise_weights"] == pytest.approx(6 * per_pair[c512] * threads)  # measured: as is
    assert pc.loc[c128, "train"] == pytest.approx(4 * t * resources["train"].get("threads", 1))
    cost = pilot_cost(full, proj, costs, resources)
    seconds, _ = cost(full.conditions[c128], "pairwise_weights", 10)
    assert seconds == pytest.approx(10 * k * cost_model.weights_pair_s(128))
    # piloted at n = 32 only: n = 128 is costlier than every measurement of its task, so it takes
    # the cost model's value instead of scaling up the start-up-dominated n = 32 figure
    small = {"pairwise_weights": StageCost(0.0, {c32: 0.5})}
    proj32 = project(full, table, runs, bench, small, resources)
    got = proj32.per_condition.set_index("condition").loc[c128, "pairwise_weights"]
    assert got == pytest.approx(6 * cost_model.weights_pair_s(128) * threads)
    dd = next(c for c in full.conditions.values() if c.task == "delayed_discrimination")
    seconds, _ = cost(dd, "pairwise_weights", 10)
    assert seconds == pytest.approx(10 * cost_model.weights_pair_s(dd.config["model"]["n_units"]))


def test_job_scaled_stages_charge_each_job_per_unit_by_hand(tmp_path):
    """--no-retime: a job's wall seconds over its units (converged networks for dsa_fit, pairs
    for the pairwise stages), start-up 0; a job of fewer than 3 units gives no per-unit cost (it
    is mostly start-up); a stage with no such job anywhere keeps its median job time."""
    table = pd.DataFrame({"condition": ["a", "b"], "n_converged": [3, 1]})
    _tsv(tmp_path / "benchmarks/dsa_fit/a.tsv", 6.0)  # 3 networks: 2 s each
    _tsv(tmp_path / "benchmarks/dsa_fit/b.tsv", 4.0)  # 1 network: 4 s
    _tsv(tmp_path / "benchmarks/pairwise/a/dsa.tsv", 9.0)  # 3 pairs: 3 s each
    _tsv(tmp_path / "benchmarks/pairwise/b/dsa.tsv", 2.0)  # no pair: no per-pair cost
    _tsv(tmp_path / "benchmarks/pairwise/b/weights.tsv", 5.0)
    _tsv(tmp_path / "benchmarks/pairwise/c/weights.tsv", 7.0)
    costs = job_scaled_stages(table, read_benchmarks(tmp_path))
    assert costs["dsa_fit"].per_unit_s == {"a": pytest.approx(2.0)}  # b: 1 network, not timed
    assert costs["dsa_fit"].startup_s == 0.0
    assert costs["pairwise_dsa"].per_unit_s == {"a": pytest.approx(3.0)}
    assert costs["pairwise_weights"].per_unit_s == {} and costs["pairwise_weights"].startup_s == pytest.approx(6.0)


def test_full_budget_seconds_by_hand():
    # ran out of 5 pilot epochs: 4 s start-up + 16 s training -> 100 epochs: 4 + 16 x 20
    assert full_budget_seconds(20.0, 16.0, 5, 5, 100, "not_converged") == pytest.approx(324.0)
    # converged, diverged, or stopped by the plateau rule before the budget: as measured
    assert full_budget_seconds(20.0, 16.0, 5, 5, 100, "converged") == 20.0
    assert full_budget_seconds(20.0, 16.0, 5, 5, 100, "diverged") == 20.0
    assert full_budget_seconds(20.0, 16.0, 3, 5, 100, "not_converged") == 20.0
    # pilot at the full budget: nothing to scale
    assert full_budget_seconds(20.0, 16.0, 5, 5, 5, "not_converged") == 20.0


def _plan(workdir: Path, config: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(workdir / "src"))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "degeneracy",
            "plan",
            str(config),
            "--only",
            "l1",
            "--cores",
            "2",
            "--workdir",
            str(workdir),
            *extra,
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("plan_workflow"))


def test_pilot_of_the_test_study_passes(workflow):
    res = _plan(workflow, workflow / "configs" / "test.yaml")
    assert res.returncode == 0, res.stdout + res.stderr[-3000:]
    root = workflow / "results" / "test-pilot+only=l1+seeds=2"
    out = res.stdout
    for cid in L1_CONDITIONS:
        assert f"| {cid} | 2/2 |" in out
    # projection of the whole test study: 7 conditions (the l1 level 0 is shared), 2 seeds each
    assert "## Projection of the full config (7 conditions, 14 networks, 7 pairs per metric)" in out
    assert "Core-hours / 2 cores:" in out and "## Wall time on 2 cores and 0 GPUs" in out
    assert "## Flags (0)" in out
    assert (root / "plan.md").read_text() in out
    # the DSA columns are the means of the pilot's own pairwise table
    pw = pd.read_parquet(root / "pairwise.parquet")
    for cid in L1_CONDITIONS:
        null = pw[(pw.condition == cid) & (pw.metric == "dsa_null")]["value"].mean()
        between = pw[(pw.condition == cid) & (pw.metric == "dsa")]["value"].mean()
        assert f"| {null:.3g} | {between:.3g} | ok |" in out
    # the full study's outputs were never made: the pilot has its own folder
    assert not (workflow / "results" / "test").exists()


def _floor_pilot(n_seeds: int, null: float, between: dict[tuple[int, int], float], n_converged=None):
    """One condition "c" with ``n_seeds`` networks (the first ``n_converged`` converged), mean
    DSA null ``null`` and between distance 0.4 at the task's setting, and a DSA grid whose
    between distance at (rank, interval) is ``between[(rank, interval)]`` (null ``null`` there)."""
    n_converged = n_seeds if n_converged is None else n_converged
    seeds = list(range(n_seeds))
    networks = pd.DataFrame(
        {
            "condition": "c",
            "seed": seeds,
            "status": ["converged"] * n_converged + ["not_converged"] * (n_seeds - n_converged),
            "converged": [True] * n_converged + [False] * (n_seeds - n_converged),
            "steps": 10,
            "epochs": 1,
        }
    )
    conv = seeds[:n_converged]
    pairs = [(a, b) for i, a in enumerate(conv) for b in conv[i + 1 :]]
    pairwise = pd.DataFrame(
        [("c", s, s, "dsa_null", null) for s in conv] + [("c", a, b, "dsa", 0.4) for a, b in pairs],
        columns=["condition", "seed_a", "seed_b", "metric", "value"],
    )
    grid = pd.DataFrame(
        [("c", s, s, r, i, "dsa_null", null) for (r, i) in between for s in conv]
        + [("c", a, b, r, i, "dsa", v) for (r, i), v in between.items() for a, b in pairs],
        columns=["condition", "seed_a", "seed_b", "rank", "delay_interval", "metric", "value"],
    )
    return networks, pairwise, grid


def test_a_dsa_floor_at_every_grid_setting_over_six_seeds_is_a_finding(tmp_path):
    """Issue 32: between-network DSA within the null at every grid setting, over at least 6
    converged seeds, is reported `at DSA floor (robust)` and does not fail the pilot; a floor
    at some settings but not others, one with fewer seeds, one without a grid, and a condition
    where fewer than 80% of networks converged are flags."""
    bench = read_benchmarks(tmp_path)
    every = {(5, 1): 0.4, (10, 1): 0.45, (10, 2): 0.5}
    nets, pw, grid = _floor_pilot(6, 0.6, every)
    t = condition_table(nets, pw, bench, grid).iloc[0]
    assert t["floor"] == "robust" and t["flag"] == ""
    # one setting tells the networks apart: a setting, not the networks
    nets, pw, grid = _floor_pilot(6, 0.6, {**every, (20, 2): 0.9})
    t = condition_table(nets, pw, bench, grid).iloc[0]
    assert t["floor"] == "" and "DSA floor at 3 of 4 grid settings" in t["flag"] and "rank 20 interval 2" in t["flag"]
    # 5 seeds: not enough to call it robust
    nets, pw, grid = _floor_pilot(5, 0.6, every)
    t = condition_table(nets, pw, bench, grid).iloc[0]
    assert t["floor"] == "" and "a robust floor needs 6" in t["flag"]
    # no grid
    t = condition_table(nets, pw, bench, None).iloc[0]
    assert "no DSA grid" in t["flag"]
    # 6 of 8 converged (75%): the convergence flag, beside a robust floor
    nets, pw, grid = _floor_pilot(8, 0.6, every, n_converged=6)
    t = condition_table(nets, pw, bench, grid).iloc[0]
    assert t["floor"] == "robust" and t["flag"] == "6 of 8 converged (< 80%)"
    # 7 of 8 (88%) passes; and no floor at all when the null is below the between distance
    nets, pw, grid = _floor_pilot(8, 0.1, every, n_converged=7)
    t = condition_table(nets, pw, bench, grid).iloc[0]
    assert t["floor"] == "" and t["flag"] == ""


def test_pilot_flags_an_unreachable_threshold(workflow, tmp_path):
    config = yaml.safe_load((workflow / "configs" / "test.yaml").read_text())
    variant = copy.deepcopy(config)
    variant["study"] = "unreachable"
    variant["tasks"]["flipflop"]["training"]["threshold"] = 1.0e-12
    path = tmp_path / "unreachable.yaml"
    path.write_text(yaml.safe_dump(variant))
    res = _plan(workflow, path, "--no-retime")
    assert res.returncode == 1, res.stdout + res.stderr[-3000:]
    for cid in L1_CONDITIONS:
        assert f"- FLAG {cid}: 0 of 2 converged (< 80%)" in res.stdout
    assert "start-up included (--no-retime; an upper bound)" in res.stdout
    assert "## Flags (2)" in res.stdout


# --------------------------------------------------------------------------- wall time of a cluster


def _dag():
    from degeneracy.plan import Job

    return [
        Job("A", "x", 3.0),
        Job("B", "x", 2.0),
        Job("C", "train", 4.0, gpus=1, deps=("A",)),
        Job("D", "x", 1.0, threads=2, deps=("A", "B")),
        Job("E", "x", 2.0, deps=("C", "D")),
    ]


def test_list_schedule_makespan_by_hand():
    """A (3 s) and B (2 s) start at once on 2 cores; C (GPU, after A) runs 3-7; D (2 threads,
    after A and B) waits for C's core until 7 and ends at 8; E (after C and D) ends at 10. On 3
    cores D runs 3-4 and the makespan is the critical path A -> C -> E, 9 s. On 1 core every job
    runs alone (D's 2 threads capped at 1): the sum, 12 s."""
    from degeneracy.plan import list_schedule

    s = list_schedule(_dag(), cores=2, gpus=1)
    assert s.makespan == 10.0
    assert s.start == {"A": 0.0, "B": 0.0, "C": 3.0, "D": 7.0, "E": 8.0}
    assert s.critical_path == ["A", "C", "E"] and s.critical_s == 9.0
    assert list_schedule(_dag(), cores=3, gpus=1).makespan == 9.0
    one = list_schedule(_dag(), cores=1, gpus=1)
    assert one.makespan == 12.0 and one.start["C"] == 3.0  # C (chain 6 s) before B (5 s)
    with pytest.raises(ValueError, match="GPU"):
        list_schedule(_dag(), cores=2, gpus=0)


def test_over_requests_lists_jobs_above_runtime_or_memory():
    from degeneracy.plan import Job, over_requests

    jobs = [Job("a", "r", 3601.0), Job("b", "r", 3600.0, mem_mb=9000.0), Job("c", "s", 1e6)]
    out = over_requests(jobs, {"r": {"runtime": 60, "mem_mb": 8000}})
    assert out == ["a: 60.0 min > runtime 60 min", "b: 9000 MB > mem_mb 8000"]


def test_study_jobs_match_the_workflow_dag_of_the_test_study():
    """The planner's jobs of configs/test.yaml are the workflow's (tests/test_workflow.py counts
    the same rules in a dry run), with chunked pairwise jobs at pairs_per_job 4."""
    from degeneracy.plan import list_schedule, study_jobs

    cfg = yaml.safe_load(TEST_CONFIG.read_text())
    cfg["experiments"]["gamma"]["seeds"] = 6
    cfg["pairwise"] = {"pairs_per_job": 4}
    study = checked_study(cfg)
    jobs = study_jobs(study)
    counts = pd.Series([j.rule for j in jobs]).value_counts().to_dict()
    n_nets = sum(len(c.seeds) for c in study.conditions.values())
    n_cond = len(study.conditions)
    # 2 gamma conditions of 6 seeds: 6 chunks each (blocks {0,1}, {2,3}, {4,5}); the rest 1 chunk
    assert counts["pairwise_weights"] == counts["pairwise_svcca"] == (n_cond - 2) + 2 * 6
    assert counts["train"] == counts["extract"] == n_nets
    assert counts["dsa_fit"] == counts["pairwise_dsa"] == counts["pairwise_weights_gather"] == n_cond
    s = list_schedule(jobs, cores=4)
    assert s.makespan >= max(s.critical_s, sum(j.seconds * j.threads for j in jobs) / 4) - 1e-6
    assert s.critical_path[-1].startswith("figure")


def test_a_training_takes_a_free_gpu_else_a_core():
    """Two trainings of 10 s on a core or 2 s on a GPU. One GPU, two cores: the first takes the
    GPU (0-2 s), the second a core (0-10 s): 10 s. No GPU: both on cores, 10 s. One core and one
    GPU: the GPU job holds the only core, so the second starts at 2 on the freed GPU: 4 s. Two
    GPUs: 2 s."""
    from degeneracy.plan import Job, list_schedule

    jobs = [Job("t1", "train", 10.0, gpu_seconds=2.0), Job("t2", "train", 10.0, gpu_seconds=2.0)]
    assert list_schedule(jobs, cores=2, gpus=1).makespan == 10.0
    assert list_schedule(jobs, cores=2, gpus=0).makespan == 10.0
    assert list_schedule(jobs, cores=1, gpus=1).makespan == 4.0
    assert list_schedule(jobs, cores=2, gpus=2).makespan == 2.0
