"""Study configuration -> training conditions (pure Python: no torch, no numpy).

A *condition* is one fully specified training configuration (task + knobs, model, training
settings) that is trained with several seeds. The workflow config (``workflow_config.yaml``)
describes *experiments*: a factor swept over levels for some tasks. Every (experiment, task,
level) triple maps to one condition; identical settings reached from two experiments give the
same condition, which is trained once and shared.

Condition ids are readable and stable: they are built from the settings themselves (never from
the order of keys or of experiments), e.g. ``flipflop-ch3-standard-n128`` or
``sine-ch2-mup-n256-g0.1``. Two different settings never share an id (checked).

This module is imported by the Snakefile when the workflow is parsed, so it must stay cheap:
standard library only.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

__all__ = [
    "Condition",
    "Study",
    "FIGURES",
    "FIGURE_NAMES",
    "build_study",
    "canonical",
    "canonical_json",
    "condition_id",
    "deep_merge",
    "seed_list",
    "block_size",
    "pair_chunks",
]

#: The figure registry: every figure the workflow knows (one target each) -> the experiments it
#: draws from by default (None: the whole study). The config's figures: section overrides the
#: experiments per figure; degeneracy.figures.FIGURES holds the drawing function of each name.
FIGURES: dict[str, list[str] | None] = {
    "fig3": ["complexity"],
    "fig4": ["memory", "auxiliary"],
    "fig5": ["complexity"],
    "fig6": ["gamma"],
    "fig7": ["width"],
    "fig8": ["l1", "nuclear"],
    "svcca": ["complexity", "memory", "auxiliary", "gamma", "width", "l1", "nuclear"],
    "effects": None,
    "training_curves": ["complexity"],
    "example_trial": None,
}
FIGURE_NAMES = tuple(FIGURES)
FIGURE_EXPERIMENTS = {k: v for k, v in FIGURES.items() if v is not None}

#: Short labels used in condition ids (other keys: the key without underscores).
ABBREVIATIONS = {
    "n_channels": "ch",
    "n_units": "n",
    "gamma": "g",
    "readout_init": "ro",
    "batch_size": "bs",
    "steps_per_epoch": "spe",
    "max_epochs": "ep",
}

#: Defaults of the per-task analysis settings (their bounds: schemas/config.schema.yaml).
TASK_ANALYSIS_DEFAULTS: dict[str, dict[str, Any]] = {
    "probe": {"n_trials": 64, "seed": 1000},
    "ood": {"n_trials": 256, "seed": 2000},
    "eval": {"n_trials": 4096, "seed": 3000},
    "dsa": {
        "n_delays": 10,
        "delay_interval": 1,
        "rank": 20,
        "ridge": 1e-8,
        "mode": "euclidean",
        "seed": 0,
    },
    # kernel alignment: 64 probe trials (and their sign-flipped copies where the task allows),
    # 4 time points each, all outputs; at most max_outputs kernel rows (docs/metrics.md)
    "feature_learning": {"n_trials": 64, "n_time_points": 4, "max_outputs": 2048, "n_subsets": 4},
    # SVCCA keeps this many leading SVD components of every network of the task, the same at
    # every level of every factor (docs/science.md: no more than the smallest 99%-variance
    # dimension among the task's levels; flip-flop at 1 channel: 5)
    "svcca": {"n_components": 5},
}
#: Defaults of the study-wide settings (their bounds: schemas/config.schema.yaml).
GLOBAL_DEFAULTS: dict[str, Any] = {
    "study": "study",
    "ensemble": "off",
    "training": {},
    "weights": {"n_restarts": 16, "seed": 0},
    # bootstrap, verdict and multiplicity settings (degeneracy.stats reads them from here)
    "aggregate": {
        "n_boot": 1000,
        "seed": 0,
        "ci": 0.95,
        "min_levels": 2,
        "min_networks": 3,
        "alpha": 0.05,
        "correction": "holm",
    },
    "figures": {},
    # fixed and slow points of every network of these experiments (degeneracy.metrics.fixed_points)
    "fixed_points": {"experiments": ["auxiliary"], "n_init": 256, "noise": 0.1, "line_tol": 0.05},
    # all networks of an experiment's levels in one DSA space, per task (fig3 panel A)
    "joint_dsa": {"experiments": ["complexity"]},
    # DSA robustness grid: only the networks of the condition's first max_networks seeds (the
    # converged ones among them; null = all). Its networks are fitted in jobs of
    # networks_per_job seeds ("auto": sized per condition from degeneracy.costs to about 45 min)
    "dsa_grid": {"max_networks": None, "networks_per_job": "auto"},
    # the purely pairwise measures (weights, SVCCA) run in jobs of at most this many pairs:
    # seeds in blocks of isqrt(pairs_per_job) by seed value, one job per pair of blocks
    # (docs/workflow.md, "Pairwise jobs"); "auto" sizes the blocks per condition from the
    # measured per-pair cost at its width (degeneracy.costs: about 45 min per job)
    "pairwise": {"pairs_per_job": "auto"},
}


# --------------------------------------------------------------------------- pair chunks


def block_size(pairs_per_job: int) -> int:
    """Seeds per block of the chunked pairwise jobs: the largest B with B * B <= pairs_per_job
    (at least 2), so a job over two blocks has at most B * B pairs and one within a block
    B (B - 1) / 2."""
    return max(2, math.isqrt(int(pairs_per_job)))


def chunk_block(pairs_per_job: int | str, n_units: int, trials: int) -> int:
    """Seeds per pairwise block of a condition: :func:`block_size` of an integer
    ``pairs_per_job``; for ``"auto"`` the block that the measured per-pair cost at width
    ``n_units`` and ``trials`` probe trials keeps under about 45 min (:func:`degeneracy.costs.pair_block`)."""
    if pairs_per_job == "auto":
        from .costs import pair_block

        return pair_block(int(n_units), int(trials))
    return block_size(int(pairs_per_job))


def grid_block(networks_per_job: int | str, n_units: int, trials: int) -> int:
    """Seeds per DSA-grid fit job of a condition: an integer ``networks_per_job`` as given;
    ``"auto"``: :func:`degeneracy.costs.network_block` at width ``n_units`` and ``trials``."""
    if networks_per_job == "auto":
        from .costs import network_block

        return network_block(int(n_units), int(trials))
    return max(1, int(networks_per_job))


def seed_blocks(seeds: Iterable[int], block: int) -> dict[int, list[int]]:
    """{k: seeds s with s // block == k}, in seed order: blocks by seed value, so adding seeds
    leaves every full block's seeds (and the job named after it) unchanged."""
    out: dict[int, list[int]] = {}
    for s in sorted(set(int(s) for s in seeds)):
        out.setdefault(s // int(block), []).append(s)
    return out


def pair_chunks(
    seeds: Iterable[int], pairs_per_job: int | None = None, *, block: int | None = None
) -> list[tuple[int, int, list[int], list[int]]]:
    """The pairwise jobs of a condition with ``seeds``: ``(a, b, seeds of block a, seeds of
    block b)`` for every pair of blocks a <= b (block k = the seeds s with s // B == k, B =
    :func:`block_size`), leaving out a block paired with itself when it holds one seed (no
    pair). Job (a, b) measures the pairs (s, t), s in block a, t in block b, s < t. A block's
    seeds depend on the seed values only, so adding seeds leaves every job over full blocks
    unchanged (its inputs and output name stay the same) and adds jobs for the new blocks.
    ``block``: the block size B itself (e.g. from :func:`chunk_block`) instead of ``pairs_per_job``."""
    if (pairs_per_job is None) == (block is None):
        raise ValueError("pair_chunks: give pairs_per_job or block, not both")
    size = int(block) if block is not None else block_size(int(pairs_per_job))
    blocks = seed_blocks(seeds, size)
    keys = sorted(blocks)
    return [(a, b, blocks[a], blocks[b]) for i, a in enumerate(keys) for b in keys[i:] if a != b or len(blocks[a]) >= 2]


# --------------------------------------------------------------------------- helpers


def deep_merge(base: Mapping, override: Mapping | None) -> dict:
    """Recursive merge: values of ``override`` win; neither input is modified."""
    out = copy.deepcopy(dict(base))
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def canonical(obj: Any) -> Any:
    """Same value with every mapping's keys sorted (stable repr / JSON); tuples -> lists."""
    if isinstance(obj, Mapping):
        return {str(k): canonical(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, (list, tuple)):
        return [canonical(v) for v in obj]
    return obj


def canonical_json(obj: Any) -> str:
    """Key-order independent JSON text of ``obj``."""
    return json.dumps(canonical(obj), sort_keys=True, separators=(",", ":"))


def _numeric_identity(obj: Any) -> Any:
    """Integer-valued floats -> int (1.0 and 1 are the same setting); bools untouched."""
    if isinstance(obj, Mapping):
        return {k: _numeric_identity(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_numeric_identity(v) for v in obj]
    if isinstance(obj, float) and math.isfinite(obj) and obj.is_integer():
        return int(obj)
    return obj


def identity_json(obj: Any) -> str:
    """What makes two conditions the same: canonical JSON with 1.0 == 1."""
    return canonical_json(_numeric_identity(obj))


def seed_list(seeds: int | Iterable[int]) -> list[int]:
    """``50`` -> ``[0, ..., 49]``; a list is taken as given (sorted, deduplicated)."""
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be a count or a list of ints, got {seeds!r}")
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seed count must be >= 1, got {seeds}")
        return list(range(seeds))
    out = sorted({int(s) for s in seeds})
    if not out:
        raise ValueError("empty seed list")
    return out


def _set_path(cfg: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    if keys[0] not in ("task", "model", "training"):
        raise ValueError(
            f"parameter {dotted!r} must start with task., model. or training. (a path into the training config)"
        )
    node = cfg
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ValueError(f"parameter {dotted!r}: {key!r} is not a mapping")
    node[keys[-1]] = value


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value).replace("+", "")
    if isinstance(value, (list, tuple)):
        return "_".join(_fmt_value(v) for v in value)
    if isinstance(value, Mapping):
        return "_".join(f"{k}{_fmt_value(value[k])}" for k in sorted(value))
    text = str(value)
    return "".join(c if (c.isalnum() or c in "._") else "_" for c in text)


def _item(key: str, value: Any) -> str:
    return ABBREVIATIONS.get(key, key.replace("_", "")) + _fmt_value(value)


def _flatten(d: Mapping, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def condition_id(config: Mapping, base_training: Mapping | None = None) -> str:
    """Readable, key-order independent id of a training config.

    ``task-<knobs>-<model kind>-n<units>[-<model keys>][-<regulariser>][-<training keys>]``:
    every task knob and model key is listed (sorted), the regulariser when it is not ``none``,
    and the training keys whose value differs from ``base_training`` (the task's defaults,
    which are identical for every condition of a task).
    """
    task = dict(config["task"])
    model = dict(config.get("model", {}))
    training = _flatten(config.get("training", {}))
    base = _flatten(base_training or {})
    parts = [_fmt_value(task.pop("name"))]
    parts += [_item(k, task[k]) for k in sorted(task)]
    parts.append(_fmt_value(model.pop("kind", "standard")))
    if "n_units" in model:
        parts.append(_item("n_units", model.pop("n_units")))
    parts += [_item(k, model[k]) for k in sorted(model)]
    reg_kind = training.pop("regulariser.kind", "none")
    reg_lambda = training.pop("regulariser.lambda", 0.0)
    base.pop("regulariser.kind", None)
    base.pop("regulariser.lambda", None)
    if reg_kind != "none":
        parts.append(f"{_fmt_value(reg_kind)}_{_fmt_value(reg_lambda)}")
    for key in sorted(training):
        if key not in base or base[key] != training[key]:
            parts.append(_item(key.replace(".", "_"), training[key]))
    return "-".join(parts)


# --------------------------------------------------------------------------- study


@dataclass
class Condition:
    """One training condition: resolved-by-the-workflow config + its seeds."""

    id: str
    task: str
    config: dict  # {"task": {...}, "model": {...}, "training": {...}}
    seeds: list[int]
    analysis: dict  # per-task analysis settings: probe, ood, eval, dsa, feature_learning, svcca
    experiments: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        """(width, probe trials): what the condition's metric job sizes follow from
        (:mod:`degeneracy.costs`)."""
        return int(self.config["model"].get("n_units", 128)), int(self.analysis["probe"]["n_trials"])

    def pair_jobs(self, pairs_per_job: int | str) -> tuple[int, list[tuple[int, int, list[int], list[int]]]]:
        """(block size B, :func:`pair_chunks`) of this condition's weight and SVCCA jobs."""
        block = chunk_block(pairs_per_job, *self.shape)
        return block, pair_chunks(self.seeds, block=block)

    def grid_jobs(self, dsa_grid: Mapping[str, Any]) -> tuple[int, dict[int, list[int]]]:
        """(block size B, {block: seeds}) of this condition's DSA-grid fit jobs: its first
        ``dsa_grid.max_networks`` seeds (all when null) in blocks of ``networks_per_job``."""
        seeds = sorted(self.seeds)[: dsa_grid.get("max_networks") or None]
        block = grid_block(dsa_grid.get("networks_per_job", "auto"), *self.shape)
        return block, seed_blocks(seeds, block)


@dataclass
class Study:
    conditions: dict[str, Condition]  # id -> condition, sorted by id
    meta: list[dict]  # rows: experiment, factor, task, level, condition
    experiments: dict[str, list[str]]  # experiment -> sorted condition ids
    figures: dict[str, dict]  # enabled figure -> settings (with resolved experiments)
    config: dict  # the full config with defaults applied
    name: str = "study"  # results/<name>/ holds every output of this study

    @property
    def root(self) -> str:
        """Output root of the study, ``results/<name>``."""
        return f"results/{self.name}"

    def meta_rows(self, experiments: Iterable[str] | None = None) -> list[dict]:
        wanted = None if experiments is None else set(experiments)
        return [r for r in self.meta if wanted is None or r["experiment"] in wanted]

    def conditions_of(self, experiments: Iterable[str]) -> list[str]:
        ids = set()
        for exp in experiments:
            ids.update(self.experiments[exp])
        return sorted(ids)

    def jobs(self, experiments: Iterable[str] | None = None) -> list[tuple[str, int]]:
        """(condition, seed) pairs, for all or for some experiments."""
        ids = sorted(self.conditions) if experiments is None else self.conditions_of(experiments)
        return [(c, s) for c in ids for s in self.conditions[c].seeds]


def _per_task(exp: Mapping, key: str, task: str, exp_name: str):
    """``exp[key]``, or its entry for ``task`` when it is a mapping task -> value."""
    value = exp[key]
    if isinstance(value, Mapping):
        if task not in value:
            raise ValueError(f"experiment {exp_name!r}: no {key} for task {task!r}")
        value = value[task]
    return value


def _levels_for(exp: Mapping, task: str, exp_name: str) -> list:
    return list(_per_task(exp, "levels", task, exp_name))


def _parameter_for(exp: Mapping, task: str, exp_name: str) -> str:
    return str(_per_task(exp, "parameter", task, exp_name))


def _normalise(cfg: dict) -> dict:
    """Make equivalent settings identical (so they share one condition)."""
    training = cfg.setdefault("training", {})
    reg = training.get("regulariser") or {}
    if reg.get("kind", "none") == "none" or float(reg.get("lambda", 0.0)) == 0.0:
        training["regulariser"] = {"kind": "none", "lambda": 0.0}
    model = cfg.get("model", {})
    if model.get("kind", "standard") == "standard":
        # muP-only keys are meaningless for the standard model
        for key in ("gamma", "tau", "eta0", "readout_init"):
            model.pop(key, None)
    return cfg


def study_name(config: Mapping) -> str:
    """The study's name (its output folder under results/): ``study``, plus what a subset run
    selects, e.g. ``default+only=width+seeds=3``."""
    name = str(config.get("study", GLOBAL_DEFAULTS["study"]))
    if config.get("only"):
        name += "+only=" + "_".join(str(e) for e in config["only"])
    if config.get("seeds") is not None:
        seeds = config["seeds"]
        name += "+seeds=" + (str(seeds) if isinstance(seeds, int) else "_".join(str(s) for s in seeds))
    return name


def select(config: Mapping) -> dict:
    """Apply a subset run's ``only`` (experiments kept) and ``seeds`` (seeds of every kept
    experiment) to the config; raises ValueError naming an unknown experiment."""
    cfg = copy.deepcopy(dict(config))
    experiments = dict(cfg.get("experiments", {}) or {})
    only = cfg.get("only")
    if only:
        unknown = [e for e in only if e not in experiments]
        if unknown:
            raise ValueError(f"only: unknown experiment(s) {unknown}; experiments: {sorted(experiments)}")
        experiments = {e: experiments[e] for e in only}
    if cfg.get("seeds") is not None:
        experiments = {e: {**exp, "seeds": cfg["seeds"]} for e, exp in experiments.items()}
    cfg["experiments"] = experiments
    return cfg


def build_study(config: Mapping) -> Study:
    """Expand the workflow config into conditions, meta rows and enabled figures."""
    label = study_name(config)
    cfg = deep_merge(GLOBAL_DEFAULTS, select(config))
    tasks_cfg = cfg.get("tasks", {})
    conditions: dict[str, Condition] = {}
    canon: dict[str, str] = {}
    meta: list[dict] = []
    experiments: dict[str, list[str]] = {}

    for exp_name in sorted(cfg.get("experiments", {})):
        exp = cfg["experiments"][exp_name]
        factor = exp.get("factor", exp_name)
        seeds = seed_list(exp.get("seeds", 1))
        exp_ids = set()
        for task in exp["tasks"]:
            if task not in tasks_cfg:
                raise ValueError(f"experiment {exp_name!r} uses task {task!r}, which has no entry under tasks:")
            tcfg = tasks_cfg[task]
            base_training = deep_merge(cfg.get("training", {}), tcfg.get("training", {}))
            analysis = {key: deep_merge(default, tcfg.get(key, {})) for key, default in TASK_ANALYSIS_DEFAULTS.items()}
            param = _parameter_for(exp, task, exp_name)
            for level in _levels_for(exp, task, exp_name):
                c = {
                    "task": deep_merge({"name": task}, tcfg.get("knobs", {})),
                    "model": copy.deepcopy(dict(exp.get("model", {"kind": "standard"}))),
                    "training": copy.deepcopy(base_training),
                }
                c = deep_merge(c, exp.get("settings", {}))
                _set_path(c, param, level)
                c = canonical(_normalise(c))
                cid = condition_id(c, _normalise({"training": copy.deepcopy(base_training)})["training"])
                text = identity_json(c)
                if cid in canon and canon[cid] != text:
                    raise ValueError(f"two different settings map to condition id {cid!r}:\n  {canon[cid]}\n  {text}")
                canon[cid] = text
                if cid not in conditions:
                    conditions[cid] = Condition(cid, task, c, [], canonical(analysis), [])
                cond = conditions[cid]
                cond.seeds = sorted(set(cond.seeds) | set(seeds))
                if exp_name not in cond.experiments:
                    cond.experiments.append(exp_name)
                exp_ids.add(cid)
                meta.append(
                    {
                        "experiment": exp_name,
                        "factor": factor,
                        "task": task,
                        "level": float(level),
                        "condition": cid,
                    }
                )
        experiments[exp_name] = sorted(exp_ids)

    figures = {}
    for name in FIGURE_NAMES:
        fcfg = dict(cfg["figures"].get(name, {}))
        if fcfg.get("enabled", True) is False:
            continue
        if name == "effects":
            if experiments:
                figures[name] = canonical(fcfg)
            continue
        if name == "example_trial":
            exp_name = fcfg.get("experiment")
            if exp_name is None:
                exp_name = next(iter(sorted(experiments)), None)
            if exp_name not in experiments:
                continue
            rows = [r for r in meta if r["experiment"] == exp_name]
            if fcfg.get("task") is not None:
                rows = [r for r in rows if r["task"] == fcfg["task"]]
            if fcfg.get("level") is not None:
                rows = [r for r in rows if r["level"] == float(fcfg["level"])]
            if not rows:
                raise ValueError(f"figures.example_trial matches no condition: {fcfg}")
            # one network per task (without `task`: every task of the experiment), at the
            # task's last matching level
            # without `seed`: the first three seeds, of which the figure shows the lowest
            # converged one
            picks = {r["task"]: r["condition"] for r in rows}
            networks = []
            for cid in picks.values():
                if fcfg.get("seed") is None:
                    networks += [[cid, s] for s in conditions[cid].seeds[:3]]
                    continue
                seed = int(fcfg["seed"])
                if seed not in conditions[cid].seeds:
                    raise ValueError(f"figures.example_trial: seed {seed} is not trained for {cid}")
                networks.append([cid, seed])
            first_cid, first_seed = networks[0]
            figures[name] = canonical({**fcfg, "condition": first_cid, "seed": first_seed, "networks": networks})
            continue
        wanted = fcfg.get("experiments", FIGURES[name])
        present = [e for e in wanted if e in experiments]
        if present:
            figures[name] = canonical({**fcfg, "experiments": present})

    ordered = {cid: conditions[cid] for cid in sorted(conditions)}
    return Study(ordered, meta, experiments, figures, cfg, label)
