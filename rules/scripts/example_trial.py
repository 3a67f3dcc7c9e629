# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    from degeneracy.pipeline.extract import example_trial

    example_trial(
        snakemake.input.checkpoint,
        snakemake.wildcards.condition,
        snakemake.params.settings["probe"],
        snakemake.output.trial,
        threads=threads,
    )
