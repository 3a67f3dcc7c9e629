# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    from degeneracy.pipeline.extract import trajectories

    row = trajectories(
        snakemake.input.checkpoint,
        snakemake.wildcards.condition,
        int(snakemake.wildcards.seed),
        snakemake.params.settings["probe"],
        snakemake.params.settings["ood"],
        snakemake.params.settings["feature_learning"],
        out_network=snakemake.output.network,
        out_trajectories=snakemake.output.trajectories,
        out_trajectories_probe2=snakemake.output.trajectories_probe2,
        out_weights=snakemake.output.weights,
        threads=threads,
        evaluation=snakemake.params.settings.get("eval"),  # None -> DEFAULT_EVAL
    )
    print(row.to_string())
