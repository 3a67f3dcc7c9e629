# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

KIND = {"networks": "networks", "pairwise_all": "pairwise"}

with job(snakemake):
    from degeneracy.pipeline.collect import write_concat

    write_concat(list(snakemake.input), KIND[snakemake.rule], snakemake.output[0])
