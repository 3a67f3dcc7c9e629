# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake):
    from degeneracy.pipeline.collect import figure

    inp = snakemake.input
    figure(
        snakemake.wildcards.name,
        snakemake.params.settings,
        snakemake.output.png,
        snakemake.output.pdf,
        summaries=list(getattr(inp, "summaries", [])),
        pairwise_paths=list(getattr(inp, "pairwise", [])),
        effects_path=getattr(inp, "effects", None),
        log_paths=list(getattr(inp, "logs", [])),
        trial_path=getattr(inp, "trial", None),
        joint_paths=list(getattr(inp, "joint", [])),
        spread_paths=list(getattr(inp, "spread", [])),
        # example_trial: the chosen networks' rows, so the figure shows converged ones
        networks_paths=list(getattr(inp, "networks", [])),
        **dict(snakemake.params.extra),
    )
