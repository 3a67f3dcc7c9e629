# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake):
    from degeneracy.pipeline.pairwise import gather

    if "spectrum" in snakemake.output.keys():
        from degeneracy.pipeline.pairwise_svcca import SPECTRUM_COLUMNS

        df = gather(list(snakemake.input.pairs), snakemake.output.pairs)
        gather(
            list(snakemake.input.spectrum),
            snakemake.output.spectrum,
            columns=SPECTRUM_COLUMNS,
            by=("seed_a", "seed_b", "component"),
        )
    else:
        df = gather(list(snakemake.input), snakemake.output[0])
    print(f"{len(snakemake.input)} chunk files, {len(df)} rows")
