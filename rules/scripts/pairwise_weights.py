# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    from degeneracy.pipeline.pairwise_weights import pairwise_weights

    df = pairwise_weights(
        snakemake.wildcards.condition,
        list(snakemake.params.networks),
        list(snakemake.input.weights),
        snakemake.params.weights,
        snakemake.output[0],
        threads=threads,
        trajectory_paths=list(snakemake.input.trajectories),
        chunk=snakemake.params.chunk,
    )
    print(df.groupby("metric")["value"].describe().to_string() if len(df) else "no pairs")
