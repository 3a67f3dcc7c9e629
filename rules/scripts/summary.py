# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake):
    from degeneracy.pipeline.collect import summary

    df = summary(
        snakemake.params.meta,
        list(snakemake.params.networks),
        list(snakemake.input.pairwise),
        settings=snakemake.params.aggregate,
        out=snakemake.output[0],
        fixed_point_paths=snakemake.input.get("fixed_points", []),
    )
    print(df.to_string())
