# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    from degeneracy.pipeline.pairwise_dsa import pairwise_dsa

    df = pairwise_dsa(
        snakemake.wildcards.condition,
        snakemake.input.operators,
        snakemake.input.null,
        snakemake.params.dsa,
        snakemake.output[0],
        threads=threads,
    )
    print(df.groupby("metric")["value"].describe().to_string() if len(df) else "no pairs")
