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
        "factor": "delay",
        "tasks": ["delayed_discrimination"],
        "parameter": "task.n_channels",
        "levels": [1, 2],
        "seeds": 2,
        "model": {"kind": "standard", "n_units": 8},
    }


def _dd_level(cfg):
    cfg["tasks"]["delayed_discrimination"] = {"knobs": {"delay_min": 5, "delay_max": 20}}
    cfg["experiments"]["memory"] = {
        "factor": "delay",
        "tasks": ["delayed_discrimination"],
        "parameter": "task.delay_max",
        "levels": [20, 3],
        "seeds": 2,
        "model": {"kind": "standard", "n_units": 8},
    }


# id -> (mutation, substrings the one-line message must contain: the key and the allowed values)
CASES = {
    "unknown_task_in_experiment": (
        _set("experiments.complexity.tasks", ["flipflopp"]),
        ["experiments.complexity.tasks", "flipflopp", "flipflop", "sine"],
    ),
    "unknown_task_section": (_set("tasks.sinus", {"knobs": {}}), ["tasks.sinus", "valid tasks", "path_integration"]),
    "unknown_factor": (
        _set("experiments.complexity.factor", "chanels"),
        ["experiments.complexity.factor", "chanels", "channels", "nuclear"],
    ),
    "misspelt_top_key": (_rename("weights", "wieghts"), ["wieghts", "top level", "allowed keys", "weights"]),
    "misspelt_dsa_key": (_rename("tasks.flipflop.dsa.rank", "rnak"), ["rnak", "tasks.flipflop.dsa", "rank"]),
    "misspelt_training_key": (_set("training.learning_rate", 0.1), ["learning_rate", "training", "lr"]),
    "unknown_task_knob": (_set("tasks.flipflop.knobs.n_chanels", 2), ["n_chanels", "n_channels"]),
    "seeds_negative": (_set("experiments.complexity.seeds", -1), ["experiments.complexity.seeds", "-1", ">= 2"]),
    "seeds_zero": (_set("experiments.l1.seeds", 0), ["experiments.l1.seeds", ">= 2"]),
    "seeds_one": (_set("experiments.l1.seeds", 1), ["experiments.l1.seeds", ">= 2", "pairs"]),
    "seeds_one_in_list": (_set("experiments.l1.seeds", [3]), ["experiments.l1.seeds", "at least 2"]),
    "seeds_negative_in_list": (_set("experiments.l1.seeds", [0, -3]), ["experiments.l1.seeds", ">= 0"]),
    "seeds_wrong_type": (_set("experiments.l1.seeds", "ten"), ["experiments.l1.seeds", "integer"]),
    "levels_empty": (_set("experiments.complexity.levels", []), ["experiments.complexity.levels", "non-empty"]),
    "levels_duplicate": (
        _set("experiments.complexity.levels", [1, 2, 2.0]),
        ["experiments.complexity.levels", "twice"],
    ),
    "levels_string": (
        _set("experiments.l1.levels", [0.0, "1e-3"]),
        ["experiments.l1.levels", "a number", "1e-3", "1.0e-3"],
    ),
    "levels_mapping_wrong_task": (
        _set("experiments.complexity.levels", {"sine": [1, 2]}),
        ["experiments.complexity.levels", "flipflop"],
    ),
    # a key for a task the experiment does not train is ignored only if it names a real task
    "levels_mapping_typo_task": (
        _set("experiments.complexity.levels", {"flipflop": [1, 2], "delayed_discrimination": [1, 2], "flipfop": [3]}),
        ["experiments.complexity.levels", "flipfop", "unknown task"],
    ),
    "threshold_zero": (_set("tasks.flipflop.training.threshold", 0), ["tasks.flipflop.training.threshold", "> 0"]),
    "threshold_negative": (_set("training.threshold", -1.0e-3), ["training.threshold", "> 0"]),
    "lr_wrong_type": (_set("tasks.flipflop.training.lr", "fast"), ["tasks.flipflop.training.lr", "a number"]),
    "dsa_rank_too_large": (
        _set("tasks.flipflop.dsa.rank", 100),
        ["tasks.flipflop.dsa.rank=100", "n_delays*n_units = 24"],
    ),
    "dsa_rank_above_hankel_rows": (
        _both(
            _set("tasks.flipflop.knobs.T", 4),
            _set("tasks.flipflop.probe.n_trials", 2),
            _set("tasks.flipflop.dsa.rank", 5),
        ),
        ["tasks.flipflop.dsa.rank=5", "Hankel rows", "= 4"],
    ),
    "dsa_window_longer_than_trial": (
        _set("tasks.flipflop.dsa.n_delays", 200),
        ["tasks.flipflop.dsa", "delay window", "200", "probe trial length 100"],
    ),
    "ridge_nan": (_set("tasks.flipflop.dsa.ridge", float("nan")), ["tasks.flipflop.dsa.ridge=nan", "finite"]),
    "lr_inf": (_set("training.lr", float("inf")), ["training.lr=inf", "finite"]),
    "gamma_on_standard_model": (
        _both(
            _set("experiments.l1.parameter", "model.gamma"),
            _set("experiments.l1.levels", [0.5, 1.0]),
            _del("experiments.l1.settings"),
        ),
        ["experiments.l1.levels", "2 levels", "1 distinct", "model.gamma", "no effect", "standard"],
    ),
    "lambda_without_regulariser": (
        _del("experiments.l1.settings"),
        ["experiments.l1.levels", "regulariser", "no effect", "kind"],
    ),
    "figure_unknown_experiment": (
        _set("figures.fig3.experiments", ["complexity", "nope"]),
        ["figures.fig3.experiments", "nope"],
    ),
    "figure_unknown_rc_key": (
        _set("figures.fig3.rc", {"savefig.dpii": 50}),
        ["figures.fig3.rc", "savefig.dpii", "matplotlib"],
    ),
    "figure_unknown_name": (_set("figures.fig9", {"rc": {}}), ["figures.fig9", "unknown figure", "fig3"]),
    "quoted_integer": (_set("experiments.l1.model.n_units", "64"), ["experiments.l1.model.n_units", "without quotes"]),
    "levels_empty_for_one_task": (
        _set("experiments.complexity.levels", {"flipflop": [], "delayed_discrimination": [1, 2]}),
        ["experiments.complexity.levels.flipflop", "non-empty"],
    ),
    "one_level": (_set("experiments.l1.levels", [0.0]), ["experiments.l1.levels", "at least 2 levels"]),
    "only_unknown_experiment": (_set("only", ["widht"]), ["only", "widht", "complexity"]),
    "dsa_mode_unknown": (
        _set("tasks.flipflop.dsa.mode", "cosine"),
        ["tasks.flipflop.dsa.mode", "euclidean", "wasserstein"],
    ),
    "delay_min_gt_max": (_dd_task, ["experiments.", "delay_min=30 > delay_max=20", "delay_min <= delay_max"]),
    "delay_level_below_min": (_dd_level, ["experiments.memory", "level 3", "delay_min=5 > delay_max=3"]),
    "custom_task_not_importable": (
        _set("experiments.complexity.tasks", ["no_such_pkg.tasks:Mine"]),
        ["no_such_pkg", "cannot import"],
    ),
    "width_one": (_set("experiments.complexity.model.n_units", 1), ["n_units", ">= 2"]),
    "plateau_patience_zero": (_set("training.plateau_patience", 0), ["training.plateau_patience", ">= 1"]),
    "readout_init_unknown": (_set("experiments.l1.model.readout_init", "xavier"), ["readout_init", "zero", "normal"]),
    "width_level_one": (
        _both(_set("experiments.complexity.parameter", "model.n_units"), _set("experiments.complexity.levels", [1, 2])),
        ["experiments.complexity", "level 1", "model.n_units=1", ">= 2"],
    ),
    "unknown_device": (_set("training.device", "gpu"), ["training.device", "gpu", "cuda", "cpu", "auto"]),
    "unknown_model_kind": (_set("experiments.l1.model.kind", "lstm"), ["experiments.l1.model.kind", "standard", "mup"]),
    "parameter_unknown_knob": (
        _set("experiments.complexity.parameter", "task.n_chanels"),
        ["experiments.complexity.parameter", "task.n_channels"],
    ),
    "knob_bad_value": (_set("tasks.flipflop.knobs.p_switch", 1.5), ["p_switch=1.5", "<= 1.0"]),
    "channels_level_zero": (_set("experiments.complexity.levels", [0, 1, 2]), ["level 0", "n_channels=0", ">= 1"]),
    "missing_required": (_del("experiments.l1.levels"), ["experiments.l1", "levels", "required"]),
    "regulariser_unknown": (
        _set("experiments.l1.settings.training.regulariser.kind", "l2"),
        ["regulariser.kind", "l1", "nuclear"],
    ),
    "experiment_task_not_configured": (
        _set("experiments.complexity.tasks", ["sine"]),
        ["experiments.complexity.tasks", "sine", "no entry under tasks"],
    ),
}


def _bad(case: str) -> dict:
    cfg = copy.deepcopy(BASE)
    CASES[case][0](cfg)
    return cfg


def test_table_is_big_enough():
    assert len(CASES) >= 40


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


def test_schema_fragments_are_generated_from_the_code():
    """The model/training/regulariser parts of the committed schema are what degeneracy.config
    generates (one source: `python -m degeneracy.config` rewrites them)."""
    from degeneracy.config import schema_definitions

    committed = yaml.safe_load(SCHEMA.read_text())["definitions"]
    for name, generated in schema_definitions().items():
        assert committed[name] == generated, f"run `python -m degeneracy.config` to regenerate {name}"


def test_validation_holds_no_copy_of_task_knobs():
    """Task knobs are checked by the task classes themselves: validation.py names none of them."""
    text = (REPO / "src" / "degeneracy" / "validation.py").read_text()
    for knob in ("p_switch", "delay_min", "speed_max", "f_high", "n_freq", "turn_sd"):
        assert knob not in text, knob


def test_factors_match_paper_directions():
    from degeneracy.stats import PAPER_DIRECTIONS

    assert set(validation.FACTORS) == set(PAPER_DIRECTIONS)


# ------------------------------------------------------------------- mutation generator


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, path + (k,))
    else:
        yield path, node


MUTATIONS = {
    "wrong_type": lambda v: {"x": 1} if not isinstance(v, dict) else "text",
    "negative": lambda v: -abs(v) - 1 if isinstance(v, (int, float)) and not isinstance(v, bool) else None,
    "zero": lambda v: 0 if isinstance(v, (int, float)) and not isinstance(v, bool) else None,
    "nan": lambda v: float("nan") if isinstance(v, (int, float)) and not isinstance(v, bool) else None,
    "empty_list": lambda v: [] if isinstance(v, list) else None,
    "unknown_name": lambda v: "no_such_name" if isinstance(v, str) else None,
}


def _mutants():
    for path, value in _leaves(BASE):
        for name, fn in MUTATIONS.items():
            new = fn(value)
            if new is None:
                continue
            yield ".".join(map(str, path)), name, path, new


def test_every_single_key_mutation_is_rejected_or_valid():
    """Break one key at a time with generic mutations: each result is either rejected with one
    line naming a key, or a valid study whose every condition resolves in the library."""
    from degeneracy.config import resolve_config

    n_rejected = n_valid = 0
    for where, name, path, new in _mutants():
        cfg = copy.deepcopy(BASE)
        node = cfg
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = new
        try:
            study = validation.checked_study(cfg)
        except StudyConfigError as exc:
            msg = str(exc)
            assert "\n" not in msg.strip() and msg, (where, name, msg)
            n_rejected += 1
            continue
        except Exception as exc:  # anything else escapes the one-line promise
            raise AssertionError(f"{where} <- {name}: {type(exc).__name__}: {exc}") from None
        for cond in study.conditions.values():  # accepted: the library must accept it too
            resolve_config(cond.config)
        n_valid += 1
    assert n_rejected > 50 and n_rejected > n_valid


# ------------------------------------------------------------------- what snakemake prints

CLI_CASES = [
    "seeds_one",
    "misspelt_dsa_key",
    "unknown_factor",
    "levels_duplicate",
    "dsa_window_longer_than_trial",
    "dsa_rank_too_large",
    "delay_min_gt_max",
    "unknown_device",
    "levels_string",
    "gamma_on_standard_model",
    "figure_unknown_rc_key",
    "quoted_integer",
]


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
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args, "--configfile", str(path)],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
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
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--configfile", str(path)],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert _without_profile_notice(proc.stderr)[0].startswith("config error: tasks.flipflop.training.threshold=0")
    assert not (workdir / "results").exists()
