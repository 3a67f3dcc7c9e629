"""Where the time goes: wall time per stage of a finished study, from its benchmark TSVs.

    python benchmarks/stage_times.py [RESULTS_DIR]      # default results/default

Every rule of the workflow writes a Snakemake ``benchmark:`` file under
``RESULTS_DIR/benchmarks/<rule>/...tsv`` (column ``s``: the job's wall seconds). This prints, per
stage (train, extract, dsa_fit, pairwise_dsa, pairwise_weights, aggregation, figures), the job
count, total, mean and longest wall seconds and the share of the summed job time. The example-trial
extraction counts as figures (it exists only for its figure). The summed job time is core-time
when every job is single-threaded; it exceeds the study's elapsed time when jobs ran in parallel.

Importable: ``stage_times(results_dir)`` returns the table as a DataFrame
(``degeneracy.plan.stage_table``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from degeneracy.plan import read_benchmarks, stage_markdown, stage_table


def stage_times(results_dir: str | Path = "results/default") -> pd.DataFrame:
    """Per-stage wall time of the study in ``results_dir``: columns ``stage``, ``jobs``,
    ``total_s``, ``mean_s``, ``max_s`` (seconds) and ``share`` (fraction of the total), plus a
    ``total`` row. Raises FileNotFoundError when the folder holds no benchmark TSV."""
    bench = read_benchmarks(results_dir)
    if bench.empty:
        raise FileNotFoundError(f"no benchmark TSVs under {Path(results_dir) / 'benchmarks'}")
    return stage_table(bench)


def main(argv: list[str]) -> int:
    results = argv[0] if argv else "results/default"
    try:
        table = stage_times(results)
    except FileNotFoundError as exc:
        print(f"error: {exc}; run the study first", file=sys.stderr)
        return 1
    print(f"Wall time per stage of {results} (Snakemake benchmark TSVs, seconds)\n")
    print(stage_markdown(table))
    total = float(table.loc[table["stage"] == "total", "total_s"].iloc[0])
    print(f"\nsummed job time {total / 3600:.2f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
