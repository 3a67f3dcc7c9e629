# Training: one job per (condition, seed), or, with `ensemble:` in the config, one job per block
# of K seeds of a condition trained together (degeneracy.training.train_ensemble; same checkpoint
# and log files per seed). Resources here are the defaults everywhere; a cluster profile may
# override them (profiles/), the study config never does.
#
# Resuming: a training job keeps a snapshot `<checkpoint>.resume.pt` beside its checkpoint
# (seed<seed>.pt.resume.pt; an ensemble job: beside its first seed's checkpoint) and a rerun of
# the job continues from it (docs/training.md, "Resuming"; docs/cluster.md for SLURM time limits).
# The snapshot is deliberately NOT an output: Snakemake deletes the outputs of an incomplete job
# before running it again, which would throw the snapshot away; as an undeclared file it survives,
# and the trainer removes it once the checkpoint is written.

if not ENSEMBLE_BLOCKS:

    rule train:
        output:
            checkpoint=CHECKPOINT,
            log=TRAIN_LOG,
        log:
            f"{OUT}/logs/train/{{condition}}/seed{{seed}}.log",
        benchmark:
            f"{OUT}/benchmarks/train/{{condition}}/seed{{seed}}.tsv"
        conda:
            "../envs/degeneracy.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=240,
        params:
            config=training_config,
            code=scoped_code("train.py"),
        script:
            "scripts/train.py"


# An ensemble job gets what a profile sets for rule `train` other than its size (e.g. the GPU
# profile's gres gpu:1): the ensemble rules are named per block, so a profile cannot name them.
_TRAIN_SET = {
    k: getattr(v, "raw", v)
    for k, v in dict(
        workflow.resource_settings.overwrite_resources.get("train", {})
    ).items()
    if k not in ("mem_mb", "runtime")
}

for _cid, _block, _seeds in ENSEMBLE_BLOCKS:

    rule:
        name:
            f"train_ensemble_{len(ENSEMBLE_RULES)}"
        output:
            checkpoints=[CHECKPOINT.format(condition=_cid, seed=s) for s in _seeds],
            logs=[TRAIN_LOG.format(condition=_cid, seed=s) for s in _seeds],
        log:
            f"{OUT}/logs/train/{_cid}/block{_block}.log",
        benchmark:
            f"{OUT}/benchmarks/train/{_cid}/block{_block}.tsv"
        group:
            "training"
        conda:
            "../envs/degeneracy.yaml"
        threads: 1
        resources:
            **_TRAIN_SET,
            mem_mb=4000,
            runtime=240,
        params:
            config=CONDITIONS[_cid].config,
            seeds=list(_seeds),
            code=code(
                "train.py",
                CONDITIONS[_cid].config["task"]["name"],
                CONDITIONS[_cid].config["model"].get("kind", "standard"),
            ),
        script:
            "scripts/train.py"

    ENSEMBLE_RULES.append(_cid)
