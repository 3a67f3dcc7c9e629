# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.dsa_grid.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    from degeneracy.pipeline.dsa_grid import dsa_grid_fit

    df = dsa_grid_fit(
        snakemake.wildcards.condition,
        list(snakemake.params.networks),
        list(snakemake.input.trajectories),
        snakemake.params.dsa,
        out=snakemake.output[0],
        threads=threads,
        trajectory_probe2_paths=list(snakemake.input.trajectories_probe2),
    )
    print(f"{df['seed'].nunique() if len(df) else 0} converged networks fitted")
