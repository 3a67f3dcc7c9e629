# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.metrics.fixed_points.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    from degeneracy.io import atomic_write_parquet
    from degeneracy.metrics.fixed_points import fixed_points_from_checkpoint

    s = snakemake.params.settings
    row = fixed_points_from_checkpoint(
        snakemake.input.checkpoint,
        snakemake.params.probe,
        n_init=int(s["n_init"]),
        noise=float(s["noise"]),
        line_tol=float(s["line_tol"]),
        threads=threads,
    )
    row.insert(0, "seed", int(snakemake.wildcards.seed))
    row.insert(0, "condition", snakemake.wildcards.condition)
    row["condition"] = row["condition"].astype("string")
    atomic_write_parquet(row, snakemake.output[0])
    print(row.to_string())
