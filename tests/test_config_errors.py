"""Malformed workflow configs are rejected before any job runs, with one line naming the key and
the allowed values (degeneracy.validation, called from rules/check_config.smk).

Every case is checked in-process (fast); a sample is also run through ``snakemake -n`` in a copy
of the workflow to check what the user sees: exit status 1, the first line of stderr is the
message, no traceback, no job and no results/ folder.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from degeneracy import validation  # noqa: E402
from workflow_copy import copy_workflow  # noqa: E402
from degeneracy.validation import StudyConfigError, check_config  # noqa: E402

SCHEMA = REPO / "schemas" / "config.schema.yaml"
BASE = yaml.safe_load((REPO / "configs" / "test.yaml").read_text())


def _set(path: str, value):
    def fn(cfg):
        node = cfg
        keys = path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value

    return fn


def _del(path: str):
    def fn(cfg):
        node = cfg
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        del node[keys[-1]]

    return fn


def _rename(path: str, new: str):
    def fn(cfg):
        node = cfg
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[new] = node.pop(keys[-1])

    return fn


def _both(*fns):
    def fn(cfg):
        for f in fns:
            f(cfg)

    return fn


def _dd_task(cfg):
    cfg["tasks"]["delayed_discrimination"] = {"knobs": {"delay_min": 30, "delay_max": 20}}
    cfg["experiments"]["memory"] = {
        "factor": "delay", "tasks": ["delayed_discrimination"], "parameter": "task.n_channels",
        "levels": [1], "seeds": 2, "model": {"kind": "standard", "n_units": 8},
    }


def _dd_level(cfg):
    cfg["tasks"]["delayed_discrimination"] = {"knobs": {"delay_min": 5, "delay_max": 20}}
    cfg["experiments"]["memory"] = {
        "factor": "delay", "tasks": ["delayed_discrimination"], "parameter": "task.delay_max",
        "levels": [20, 3], "seeds": 2, "model": {"kind": "standard", "n_units": 8},
    }


# id -> (mutation, substrings the one-line message must contain: the key and the allowed values)
CASES = {
    "unknown_task_in_experiment": (_set("experiments.complexity.tasks", ["flipflopp"]), ["experiments.complexity.tasks", "flipflopp", "flipflop", "sine"]),
    "unknown_task_section": (_set("tasks.sinus", {"knobs": {}}), ["tasks.sinus", "allowed tasks", "path_integration"]),
    "unknown_factor": (_set("experiments.complexity.factor", "chanels"), ["experiments.complexity.factor", "chanels", "channels", "nuclear"]),
    "misspelt_top_key": (_rename("weights", "wieghts"), ["wieghts", "top level", "allowed keys", "weights"]),
    "misspelt_dsa_key": (_rename("tasks.flipflop.dsa.rank", "rnak"), ["rnak", "tasks.flipflop.dsa", "rank"]),
    "misspelt_training_key": (_set("training.learning_rate", 0.1), ["learning_rate", "training", "lr"]),
    "unknown_task_knob": (_set("tasks.flipflop.knobs.n_chanels", 2), ["tasks.flipflop.knobs.n_chanels", "n_channels"]),
    "seeds_negative": (_set("experiments.complexity.seeds", -1), ["experiments.complexity.seeds", "-1", ">= 1"]),
    "seeds_zero": (_set("experiments.l1.seeds", 0), ["experiments.l1.seeds", ">= 1"]),
    "seeds_negative_in_list": (_set("experiments.l1.seeds", [0, -3]), ["experiments.l1.seeds", ">= 0"]),
    "seeds_wrong_type": (_set("experiments.l1.seeds", "ten"), ["experiments.l1.seeds", "integer"]),
    "levels_empty": (_set("experiments.complexity.levels", []), ["experiments.complexity.levels", "non-empty"]),
    "levels_duplicate": (_set("experiments.complexity.levels", [1, 2, 2.0]), ["experiments.complexity.levels", "twice"]),
    "levels_string": (_set("experiments.l1.levels", [0.0, "1e-3"]), ["experiments.l1.levels", "numbers", "1e-3", "1.0e-3"]),
    "levels_mapping_wrong_task": (_set("experiments.complexity.levels", {"sine": [1, 2]}), ["experiments.complexity.levels", "flipflop"]),
    "threshold_zero": (_set("tasks.flipflop.training.threshold", 0), ["tasks.flipflop.training.threshold", "> 0"]),
    "threshold_negative": (_set("training.threshold", -1.0e-3), ["training.threshold", "> 0"]),
    "lr_wrong_type": (_set("tasks.flipflop.training.lr", "fast"), ["tasks.flipflop.training.lr", "a number"]),
    "dsa_rank_too_large": (_set("tasks.flipflop.dsa.rank", 100), ["tasks.flipflop.dsa.rank=100", "n_delays*n_units", "3*8 = 24"]),
    "dsa_mode_unknown": (_set("tasks.flipflop.dsa.mode", "cosine"), ["tasks.flipflop.dsa.mode", "euclidean", "wasserstein"]),
    "delay_min_gt_max": (_dd_task, ["tasks.delayed_discrimination.knobs", "delay_min=30 > delay_max=20", "delay_min <= delay_max"]),
    "delay_level_below_min": (_dd_level, ["experiments.memory", "level 3", "delay_min=5 > delay_max=3"]),
    "width_one": (_set("experiments.complexity.model.n_units", 1), ["n_units", ">= 2"]),
    "width_level_one": (
        _both(_set("experiments.complexity.parameter", "model.n_units"), _set("experiments.complexity.levels", [1, 2])),
        ["experiments.complexity", "level 1", "model.n_units=1", ">= 2"],
    ),
    "unknown_device": (_set("training.device", "gpu"), ["training.device", "gpu", "cuda", "cpu", "auto"]),
    "unknown_model_kind": (_set("experiments.l1.model.kind", "lstm"), ["experiments.l1.model.kind", "standard", "mup"]),
    "parameter_unknown_knob": (_set("experiments.complexity.parameter", "task.n_chanels"), ["experiments.complexity.parameter", "task.n_channels"]),
    "knob_bad_value": (_set("tasks.flipflop.knobs.p_switch", 1.5), ["tasks.flipflop.knobs.p_switch=1.5", "[0.0, 1.0]"]),
    "channels_level_zero": (_set("experiments.complexity.levels", [0, 1, 2]), ["level 0", "n_channels=0", ">= 1"]),
    "missing_required": (_del("experiments.l1.levels"), ["experiments.l1", "levels", "required"]),
    "regulariser_unknown": (_set("experiments.l1.settings.training.regulariser.kind", "l2"), ["regulariser.kind", "l1", "nuclear"]),
    "experiment_task_not_configured": (_set("experiments.complexity.tasks", ["sine"]), ["experiments.complexity.tasks", "sine", "no entry under tasks"]),
}


def _bad(case: str) -> dict:
    cfg = copy.deepcopy(BASE)
    CASES[case][0](cfg)
    return cfg


def test_table_is_big_enough():
    assert len(CASES) >= 20


def test_valid_configs_pass():
    for path in (REPO / "configs" / "test.yaml", REPO / "workflow_config.yaml"):
        check_config(yaml.safe_load(path.read_text()), SCHEMA)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_rejected_with_one_line(case):
    with pytest.raises(StudyConfigError) as info:
        check_config(_bad(case), SCHEMA)
    msg = str(info.value)
    assert "\n" not in msg.strip(), msg
    for part in CASES[case][1]:
        assert part in msg, f"{case}: {part!r} not in message: {msg}"


def test_task_knob_table_matches_library():
    """validation.TASK_KNOBS (torch-free copy) lists exactly the knobs of degeneracy.tasks, and
    the library accepts its defaults / rejects what the table rejects."""
    from degeneracy.tasks import TASKS, TaskConfigError, make_task

    assert set(validation.TASK_KNOBS) == set(TASKS)
    for name, cls in TASKS.items():
        assert list(validation.TASK_KNOBS[name]) == [f.name for f in fields(cls)], name
        defaults = {f.name: f.default for f in fields(cls)}
        validation.check_task_knobs(name, defaults, name)  # defaults are valid for both
        for key, spec in validation.TASK_KNOBS[name].items():
            if spec[0] == "int":
                bad = spec[1] - 1
                with pytest.raises(StudyConfigError):
                    validation.check_task_knobs(name, {key: bad}, name)
                if key not in ("delay_min", "delay_max"):  # cross-checked separately
                    with pytest.raises(TaskConfigError):
                        make_task(name, **{key: bad})
    with pytest.raises(TaskConfigError):
        make_task("delayed_discrimination", delay_min=30, delay_max=20)


def test_factors_match_paper_directions():
    from degeneracy.stats import PAPER_DIRECTIONS

    assert set(validation.FACTORS) == set(PAPER_DIRECTIONS)


def test_training_checks_match_resolve_config():
    """Every condition the validation accepts is accepted by resolve_config, and a value the
    library rejects is rejected by the validation too."""
    from degeneracy.conditions import build_study
    from degeneracy.config import ConfigError, resolve_config

    for cond in build_study(BASE).conditions.values():
        resolve_config(cond.config)
    cfg = build_study(BASE).conditions
    one = copy.deepcopy(next(iter(cfg.values())).config)
    for section, key, value in [("training", "plateau_patience", 0), ("training", "batch_size", 0),
                                ("model", "n_units", 1), ("training", "device", "tpu")]:
        bad = copy.deepcopy(one)
        bad[section][key] = value
        with pytest.raises(ConfigError):
            resolve_config(bad)
        with pytest.raises(StudyConfigError):
            validation.check_training_config(bad)


# ------------------------------------------------------------------- what snakemake prints

CLI_CASES = ["seeds_negative", "misspelt_dsa_key", "unknown_factor", "levels_duplicate",
             "dsa_rank_too_large", "delay_min_gt_max", "unknown_device", "levels_string"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("cfgerr"))


def _without_profile_notice(text: str) -> list[str]:
    """Output lines, less Snakemake's notice that it uses profiles/default (printed before parsing)."""
    return [l for l in text.strip().splitlines() if not l.startswith("Using workflow specific profile")]


@pytest.mark.parametrize("case", CLI_CASES)
@pytest.mark.parametrize("dry", [True])
def test_snakemake_prints_one_line(workdir, case, dry):
    path = workdir / f"{case}.yaml"
    path.write_text(yaml.safe_dump(_bad(case), sort_keys=False))
    args = ["-n"] if dry else ["--cores", "1"]
    proc = subprocess.run([sys.executable, "-m", "snakemake", *args, "--configfile", str(path)],
                          cwd=workdir, capture_output=True, text=True)
    assert proc.returncode == 1
    lines = _without_profile_notice(proc.stderr + proc.stdout)
    first = lines[0] if lines else ""
    assert first.startswith("config error: "), proc.stderr + proc.stdout
    for part in CASES[case][1]:
        assert part in first
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out and 'File "' not in out
    assert len(lines) == 1, out
    assert not (workdir / "results").exists()


def test_real_run_also_refuses(workdir):
    """Not only the dry run: `snakemake --cores 1` with a bad config runs no job either."""
    path = workdir / "real.yaml"
    path.write_text(yaml.safe_dump(_bad("threshold_zero"), sort_keys=False))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1", "--configfile", str(path)],
                          cwd=workdir, capture_output=True, text=True)
    assert proc.returncode == 1
    assert _without_profile_notice(proc.stderr)[0].startswith("config error: tasks.flipflop.training.threshold=0")
    assert not (workdir / "results").exists()
