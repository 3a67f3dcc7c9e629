# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.dsa_grid.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    from degeneracy.pipeline.dsa_grid import dsa_grid_distances

    df = dsa_grid_distances(
        snakemake.wildcards.condition,
        list(snakemake.input),
        snakemake.params.dsa,
        out=snakemake.output[0],
        threads=threads,
    )
    print(df.groupby(["rank", "delay_interval", "metric"])["value"].mean().to_string() if len(df) else "no pairs")
