# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    import torch

    from degeneracy.training import train

    torch.set_num_threads(threads)
    result = train(
        snakemake.params.config,
        int(snakemake.wildcards.seed),
        snakemake.output.checkpoint,
        snakemake.output.log,
    )
    print(result)
