# Shared definitions: the checked study, output paths, code hashes and input functions.
# Cheap on purpose: no torch, no numpy, no globbing of results/.

from functools import lru_cache

from degeneracy import validation as _validation
from degeneracy.conditions import FIGURE_NAMES, canonical
from degeneracy.pipeline.codehash import code_hash as _code_hash

# One clear line and exit 1 on a bad config, before any job; the study is built once, here.
STUDY = _validation.exit_on_error(config)
if _validation.defaults_notice(config):
    print(_validation.defaults_notice(config), file=sys.stderr)
CONDITIONS = STUDY.conditions
#: every output of this study lives under results/<study name>/
OUT = STUDY.root
SRC = Path(workflow.basedir) / "src"
SCRIPTS = Path(workflow.basedir) / "rules" / "scripts"
#: global analysis settings, key-order independent (stable params)
SETTINGS = {
    key: canonical(STUDY.config[key])
    for key in ("weights", "aggregate", "fixed_points", "joint_dsa", "dsa_grid")
}


def ensemble_blocks(study):
    """[(condition, block, seeds)] when the config's `ensemble:` is on, else [].

    ``ensemble: off`` (default) trains one network per job; ``K`` trains the seeds of a condition
    in blocks of K by seed value (block b = seeds bK..bK+K-1), so adding seeds trains only new
    blocks; ``auto`` is K = 8 when training.device is cuda, else off (on CPU the ensemble gains
    1.7x only for n <= 64: benchmarks/ensemble_throughput.py)."""
    setting = study.config.get("ensemble", "off")
    if setting == "auto":
        devices = {
            c.config["training"].get("device", "auto")
            for c in study.conditions.values()
        }
        setting = 8 if devices == {"cuda"} else "off"
    if setting == "off":
        return []
    out = []
    for cid, c in study.conditions.items():
        blocks = {}
        for s in c.seeds:
            blocks.setdefault(s // int(setting), []).append(s)
        out += [(cid, b, seeds) for b, seeds in sorted(blocks.items())]
    return out


ENSEMBLE_BLOCKS = ensemble_blocks(STUDY)
ENSEMBLE_RULES = []


@lru_cache(maxsize=None)
def code(script, task=None, model=None):
    """Hash of a rule script and the library code it imports (degeneracy.pipeline.codehash);
    ``task``/``model`` scope the task and model registries to what one condition runs.
    """
    return _code_hash(SCRIPTS / script, SRC, task, model)


def scoped_code(script):
    """Params function: the code hash of ``script`` for the job's condition (its task and model)."""

    def fn(wildcards):
        c = cond(wildcards)
        return code(
            script, c.config["task"]["name"], c.config["model"].get("kind", "standard")
        )

    return fn


# File patterns used by input functions.
CHECKPOINT = f"{OUT}/train/{{condition}}/seed{{seed}}.pt"
TRAIN_LOG = f"{OUT}/train/{{condition}}/seed{{seed}}.log.parquet"
NETWORK = f"{OUT}/extract/{{condition}}/seed{{seed}}/network.parquet"
WEIGHTS = f"{OUT}/extract/{{condition}}/seed{{seed}}/weights.parquet"
TRAJECTORIES = f"{OUT}/extract/{{condition}}/seed{{seed}}/trajectories.parquet"
# hidden states on a second, independent probe batch of the same size (the DSA null)
TRAJECTORIES_PROBE2 = TRAJECTORIES.replace("trajectories.", "trajectories_probe2.")
FIXED_POINTS = f"{OUT}/extract/{{condition}}/seed{{seed}}/fixed_points.parquet"
EXAMPLE_TRIAL = f"{OUT}/extract/{{condition}}/seed{{seed}}/example_trial.parquet"
PAIRWISE = f"{OUT}/pairwise/{{condition}}/{{metric}}.parquet"


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


def fixed_point_files(experiment):
    """Fixed-point rows of the experiment's networks, when it is listed in fixed_points:."""
    if experiment not in SETTINGS["fixed_points"]["experiments"]:
        return []
    return [
        FIXED_POINTS.format(condition=c, seed=s) for c, s in STUDY.jobs([experiment])
    ]


def joint_groups(experiment, task):
    """[[condition, number of seeds], ...] of one experiment and task, in level order."""
    rows = sorted(
        (r for r in STUDY.meta_rows([experiment]) if r["task"] == task),
        key=lambda r: r["level"],
    )
    cids = list(dict.fromkeys(r["condition"] for r in rows))
    return [[c, len(CONDITIONS[c].seeds)] for c in cids]


def joint_seed_files(pattern):
    """Input function: ``pattern`` for every network of the job's experiment and task."""

    def fn(wildcards):
        return [
            pattern.format(condition=c, seed=s)
            for c, _ in joint_groups(wildcards.experiment, wildcards.task)
            for s in CONDITIONS[c].seeds
        ]

    return fn


def joint_files(experiments):
    """(joint tables, spread tables) of the listed experiments that joint_dsa: covers."""
    keys = [
        (e, t)
        for e in experiments
        if e in SETTINGS["joint_dsa"]["experiments"] and e in STUDY.experiments
        for t in sorted({r["task"] for r in STUDY.meta_rows([e])})
        if ":" not in t
    ]
    return (
        [f"{OUT}/joint/{e}/{t}.parquet" for e, t in keys],
        [f"{OUT}/joint/{e}/{t}.spread.parquet" for e, t in keys],
    )


def pairwise_files(experiments=None, metrics=("dsa", "weights", "svcca")):
    conds = (
        sorted(CONDITIONS)
        if experiments is None
        else experiment_conditions(experiments)
    )
    return [PAIRWISE.format(condition=c, metric=m) for c in conds for m in metrics]


def all_targets():
    targets = [
        f"{OUT}/meta.parquet",
        f"{OUT}/networks.parquet",
        f"{OUT}/pairwise.parquet",
    ]
    targets += [f"{OUT}/summary/{e}.parquet" for e in sorted(STUDY.experiments)]
    if STUDY.experiments:
        targets += [f"{OUT}/effects.parquet", f"{OUT}/effects.md"]
    for name in STUDY.figures:
        targets += [f"{OUT}/figures/{name}.png", f"{OUT}/figures/{name}.pdf"]
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
        return {"effects": f"{OUT}/effects.parquet"}
    if name == "example_trial":
        return {
            "trial": [
                EXAMPLE_TRIAL.format(condition=c, seed=s)
                for c, s in settings["networks"]
            ],
            "networks": [
                NETWORK.format(condition=c, seed=s) for c, s in settings["networks"]
            ],
        }
    exps = settings["experiments"]
    if name == "training_curves":
        return {
            "logs": [TRAIN_LOG.format(condition=c, seed=s) for c, s in STUDY.jobs(exps)]
        }
    inputs = {"summaries": [f"{OUT}/summary/{e}.parquet" for e in exps]}
    if name == "fig3":
        inputs["pairwise"] = pairwise_files(exps)
        inputs["joint"], inputs["spread"] = joint_files(exps)
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


# ---- pairwise chunks and DSA-grid blocks (rules/metrics.smk; docs/workflow.md, "Pairwise jobs")

PAIRS_PER_JOB = STUDY.config["pairwise"]["pairs_per_job"]


@lru_cache(maxsize=None)
def pair_chunk_seeds(condition):
    """{chunk name: (seeds of block a, seeds of block b)} of the condition's pairwise jobs; the
    name carries the block size, so a new size never reuses a file."""
    B, chunks = CONDITIONS[condition].pair_jobs(PAIRS_PER_JOB)
    return {f"s{B}b{a}-{b}": (sa, sb) for a, b, sa, sb in chunks}


@lru_cache(maxsize=None)
def grid_block_seeds(condition):
    """{block name: seeds} of the condition's DSA-grid fit jobs (Condition.grid_jobs)."""
    B, blocks = CONDITIONS[condition].grid_jobs(STUDY.config["dsa_grid"])
    return {f"s{B}b{k}": v for k, v in blocks.items()}


def _grid_seeds(wildcards):
    try:
        return grid_block_seeds(wildcards.condition)[wildcards.block]
    except KeyError:
        raise ValueError(
            f"no DSA-grid block {wildcards.block!r} of {wildcards.condition!r}"
        )


def grid_block_files(pattern):
    """Input function: ``pattern`` for every seed of the job's DSA-grid block."""

    def fn(wildcards):
        return [
            pattern.format(condition=wildcards.condition, seed=s)
            for s in _grid_seeds(wildcards)
        ]

    return fn


def grid_block_outputs(wildcards):
    """Input function: every DSA-grid fit block of the job's condition."""
    return [
        GRID_FIT.format(condition=wildcards.condition, block=b)
        for b in grid_block_seeds(wildcards.condition)
    ]


def _chunk(wildcards):
    try:
        return pair_chunk_seeds(wildcards.condition)[wildcards.chunk]
    except KeyError:
        raise ValueError(
            f"no pairwise chunk {wildcards.chunk!r} of {wildcards.condition!r} at "
            f"pairs_per_job {PAIRS_PER_JOB}"
        )


def chunk_seed_files(pattern):
    """Input function: ``pattern`` for every seed of the job's two blocks."""

    def fn(wildcards):
        first, second = _chunk(wildcards)
        return [
            pattern.format(condition=wildcards.condition, seed=s)
            for s in sorted(set(first) | set(second))
        ]

    return fn


def chunk_params(wildcards):
    first, second = _chunk(wildcards)
    return [list(first), list(second)]


def chunk_outputs(pattern):
    """Input function: ``pattern`` (with {condition}, {chunk}) for every chunk of the condition."""

    def fn(wildcards):
        return [
            pattern.format(condition=wildcards.condition, chunk=c)
            for c in pair_chunk_seeds(wildcards.condition)
        ]

    return fn


WEIGHT_CHUNK = f"{OUT}/pairwise/{{condition}}/weights/{{chunk}}.parquet"
SVCCA_CHUNK = f"{OUT}/pairwise/{{condition}}/svcca/{{chunk}}.parquet"
SPECTRUM_CHUNK = f"{OUT}/svcca/{{condition}}/spectrum/{{chunk}}.parquet"
GRID_FIT = f"{OUT}/dsa_grid/{{condition}}/{{block}}.parquet"
