# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.training.
#
# One network per job: output.checkpoint / output.log, wildcards.seed.
# One ensemble per job (params.seeds given): output.checkpoints / output.logs, one per seed in the
# order of params.seeds; params.compile (optional, default False) compiles the ensemble step.
# Either way every finished epoch appends one line to the job's log: file.
# A rerun of a killed job resumes from the snapshot `<checkpoint>.resume.pt` (not an output; see
# rules/train.smk) and says so in the log.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    import torch

    from degeneracy.training import line_logger, train, train_ensemble

    torch.set_num_threads(threads)
    seeds = getattr(snakemake.params, "seeds", None)
    if seeds is None:
        result = train(
            snakemake.params.config,
            int(snakemake.wildcards.seed),
            snakemake.output.checkpoint,
            snakemake.output.log,
            progress=line_logger(),
        )
        print(result)
    else:
        results = train_ensemble(
            snakemake.params.config,
            [int(s) for s in seeds],
            list(snakemake.output.checkpoints),
            list(snakemake.output.logs),
            progress=line_logger(),
            compile=bool(getattr(snakemake.params, "compile", False)),
        )
        for seed, result in zip(seeds, results):
            print(f"seed {seed}: {result}")
