# Snakemake wrapper (see rules/*.smk); the logic lives in degeneracy.pipeline.joint_dsa.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).resolve().parents[1] / "src"))
from degeneracy.pipeline.runner import job  # noqa: E402

with job(snakemake) as threads:
    import pandas as pd

    from degeneracy.io import atomic_write_parquet
    from degeneracy.pipeline.joint_dsa import SPREAD_COLUMNS, centroid_spread, joint_dsa, joint_matrix

    groups = snakemake.params.groups  # [[condition, n_seeds], ...] in level order
    nets, trajs = list(snakemake.params.networks), list(snakemake.input.trajectories)
    conditions, k = [], 0
    for condition, n in groups:
        conditions.append((condition, nets[k : k + n], trajs[k : k + n]))
        k += n
    df = joint_dsa(conditions, snakemake.params.dsa, out=snakemake.output.joint, threads=threads)
    agg = snakemake.params.aggregate
    if len(df):
        D, labels, _ = joint_matrix(df)
        spread = centroid_spread(D, labels, n_boot=int(agg["n_boot"]), seed=int(agg["seed"]), ci=float(agg["ci"]))
    else:
        spread = pd.DataFrame({c: pd.Series(dtype=t) for c, t in SPREAD_COLUMNS.items()})
    atomic_write_parquet(spread, snakemake.output.spread)
    print(spread.to_string())
