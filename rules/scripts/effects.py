# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake):
    from degeneracy.pipeline.collect import effects

    grid = snakemake.input.get("dsa_grid", [])  # absent until the rule lists the DSA-grid tables
    grid = [grid] if isinstance(grid, str) else list(grid)

    effects(
        snakemake.input.meta,
        snakemake.input.networks,
        snakemake.input.pairwise,
        settings=snakemake.params.aggregate,
        out_parquet=snakemake.output.parquet,
        out_markdown=snakemake.output.markdown,
        dsa_grid_paths=grid,
        fixed_point_paths=snakemake.input.get("fixed_points", []),
    )
