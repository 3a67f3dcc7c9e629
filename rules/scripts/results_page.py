# Snakemake wrapper (see rules/report.smk); the logic lives in degeneracy.results_page.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake):
    from degeneracy.results_page import write_page

    path = write_page(
        Path(snakemake.output.html).parent,  # the study folder
        snakemake.output.html,
        figures=dict(snakemake.params.figures),
        experiments=list(snakemake.params.experiments),
        captions=dict(snakemake.params.captions),
        title=snakemake.params.title,
    )
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
