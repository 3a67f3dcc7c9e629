# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    from degeneracy.pipeline.pairwise_svcca import pairwise_svcca

    df = pairwise_svcca(
        snakemake.wildcards.condition,
        list(snakemake.params.networks),
        list(snakemake.input.trajectories),
        snakemake.output.pairs,
        threads=threads,
        n_components=snakemake.params.svcca["svcca"]["n_components"],
        probe2_paths=list(snakemake.input.trajectories_probe2),
        out_spectrum=snakemake.output.spectrum,
        chunk=snakemake.params.chunk,
    )
    print(df.groupby("metric")["value"].describe().to_string() if len(df) else "no pairs")
