# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    from degeneracy.pipeline.dsa_fit import dsa_fit

    dsa_fit(
        snakemake.wildcards.condition,
        list(snakemake.params.networks),
        list(snakemake.input.trajectories),
        snakemake.params.dsa,
        out_operators=snakemake.output.operators,
        out_null=snakemake.output.null,
        threads=threads,
        trajectory_probe2_paths=list(snakemake.input.trajectories_probe2),
    )
