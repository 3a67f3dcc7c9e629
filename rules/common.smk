# Shared definitions: the study (conditions, seeds, meta rows), stage code hashes, paths and
# input functions. Cheap on purpose: standard library only (no torch), no globbing of results/.

import importlib.util
import sys
from pathlib import Path

REPO = Path(workflow.basedir)
SRC = REPO / "src"
PKG = SRC / "degeneracy"


def _load_module(name, path):
    """Load one stdlib-only module of the package without importing the package itself."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


_conditions = _load_module("_degeneracy_conditions", PKG / "conditions.py")
_codehash = _load_module("_degeneracy_codehash", PKG / "pipeline" / "codehash.py")

FIGURE_NAMES = _conditions.FIGURE_NAMES
STUDY = _conditions.build_study(config)
CONDITIONS = STUDY.conditions
CODE = _codehash.stage_hashes(PKG)
RES = STUDY.config.get("resources", {})
#: global analysis settings, key-order independent (stable params)
SETTINGS = {
    key: _conditions.canonical(STUDY.config[key]) for key in ("weights", "aggregate")
}

# File patterns used by input functions (rules spell their paths out in full).
CHECKPOINT = "results/train/{condition}/seed{seed}.pt"
TRAIN_LOG = "results/train/{condition}/seed{seed}.log.parquet"
NETWORK = "results/extract/{condition}/seed{seed}/network.parquet"
WEIGHTS = "results/extract/{condition}/seed{seed}/weights.parquet"
TRAJECTORIES = "results/extract/{condition}/seed{seed}/trajectories.parquet"
EXAMPLE_TRIAL = "results/extract/{condition}/seed{seed}/example_trial.parquet"
PAIRWISE = "results/pairwise/{condition}/{metric}.parquet"


def resource(stage, key):
    """Per-stage threads / mem_mb / runtime (minutes) from the config's resources: section."""
    defaults = {"threads": 1, "mem_mb": 2000, "runtime": 30}
    return RES.get(stage, {}).get(key, defaults[key])


def cond(wildcards):
    try:
        return CONDITIONS[wildcards.condition]
    except KeyError:
        raise ValueError(
            f"unknown condition {wildcards.condition!r}: not produced by any experiment in the config"
        )


def per_seed(pattern, condition):
    """``pattern`` (with {condition}, {seed}) for every seed of ``condition``."""
    return [
        pattern.format(condition=condition, seed=s) for s in CONDITIONS[condition].seeds
    ]


def training_config(wildcards):
    return cond(wildcards).config


DSA_FIT_KEYS = ("n_delays", "delay_interval", "rank", "ridge", "seed")
DSA_DISTANCE_KEYS = ("mode", "seed")


def analysis(*keys):
    """Params function: the condition's analysis settings ``keys`` (one dict, one call per job)."""

    def fn(wildcards):
        a = cond(wildcards).analysis
        return {k: a[k] for k in keys}

    return fn


def dsa_settings(keys):
    """Params function: the subset ``keys`` of the condition's DSA settings."""

    def fn(wildcards):
        dsa = cond(wildcards).analysis["dsa"]
        return {k: dsa[k] for k in keys}

    return fn


def seed_files(pattern):
    """Input function: ``pattern`` for every seed of the job's condition."""

    def fn(wildcards):
        return per_seed(pattern, wildcards.condition)

    return fn


def experiment_conditions(experiments):
    return STUDY.conditions_of(experiments)


def network_files(experiments=None):
    return [NETWORK.format(condition=c, seed=s) for c, s in STUDY.jobs(experiments)]


def pairwise_files(experiments=None, metrics=("dsa", "weights")):
    conds = (
        sorted(CONDITIONS)
        if experiments is None
        else experiment_conditions(experiments)
    )
    return [PAIRWISE.format(condition=c, metric=m) for c in conds for m in metrics]


def all_targets():
    targets = [
        "results/meta.parquet",
        "results/networks.parquet",
        "results/pairwise.parquet",
    ]
    targets += [f"results/summary/{e}.parquet" for e in sorted(STUDY.experiments)]
    if STUDY.experiments:
        targets += ["results/effects.parquet", "results/effects.md"]
    for name in STUDY.figures:
        targets += [f"results/figures/{name}.png", f"results/figures/{name}.pdf"]
    return targets


# ---- figures


def figure_settings(name):
    if name not in STUDY.figures:
        raise ValueError(
            f"figure {name!r} is disabled or none of its experiments is in the config"
        )
    return STUDY.figures[name]


def figure_inputs(wildcards):
    name = wildcards.name
    settings = figure_settings(name)
    if name == "effects":
        return {"effects": "results/effects.parquet"}
    if name == "example_trial":
        return {
            "trial": [
                EXAMPLE_TRIAL.format(condition=c, seed=s)
                for c, s in settings["networks"]
            ]
        }
    exps = settings["experiments"]
    if name == "training_curves":
        return {
            "logs": [TRAIN_LOG.format(condition=c, seed=s) for c, s in STUDY.jobs(exps)]
        }
    inputs = {"summaries": [f"results/summary/{e}.parquet" for e in exps]}
    if name == "fig3":
        inputs["pairwise"] = pairwise_files(exps)
    return inputs


def figure_extra(wildcards):
    """Non-file arguments of the figure: meta rows (fig3) and (condition, seed) of the logs."""
    name = wildcards.name
    settings = figure_settings(name)
    if name == "fig3":
        return {"meta_rows": STUDY.meta_rows(settings["experiments"])}
    if name == "training_curves":
        return {"log_jobs": STUDY.jobs(settings["experiments"])}
    return {}
