# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake):
    from degeneracy.pipeline.collect import effects

    effects(
        snakemake.input.meta,
        snakemake.input.networks,
        snakemake.input.pairwise,
        n_boot=snakemake.params.aggregate["n_boot"],
        seed=snakemake.params.aggregate["seed"],
        min_levels=snakemake.params.aggregate.get("min_levels", 2),
        out_parquet=snakemake.output.parquet,
        out_markdown=snakemake.output.markdown,
    )
