# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.dsa_grid.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    from degeneracy.pipeline.dsa_grid import dsa_grid

    df = dsa_grid(
        snakemake.wildcards.condition,
        list(snakemake.input.networks),
        list(snakemake.input.trajectories),
        snakemake.params.dsa,
        out=snakemake.output[0],
        max_networks=snakemake.params.max_networks,
        threads=threads,
        trajectory_probe2_paths=list(snakemake.input.trajectories_probe2),
    )
    print(df.groupby(["rank", "delay_interval", "metric"])["value"].mean().to_string() if len(df) else "no pairs")
