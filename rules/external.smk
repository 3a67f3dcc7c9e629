# Degeneracy of your own networks (docs/measure.md). Config section:
#
#   external:
#     NAME: {networks: "path/*.npz", format: auto|npz|torch, group_by: LABEL, dsa: {rank: 10, ...}}
#
# One job per entry runs degeneracy.measure on the files (the same metrics, summary and effects
# code as the study) and writes results/external/NAME/: networks, pairwise (study schema),
# distances (all pairs) and summary tables, effects.parquet (ordered groups), mds_dsa.png,
# distances.png and report.md. A changed network file or setting re-runs only that entry.

from degeneracy.measure import workflow as _external

EXTERNAL = config.get("external") or {}
EXTERNAL_OUT = "results/external/{external}"
_EXTERNAL_CODE = _code_hash(SRC / "degeneracy" / "measure" / "workflow.py", SRC)


wildcard_constraints:
    external="|".join(EXTERNAL) or "no_external_entries",


rule measure_external:
    input:
        lambda wc: _external.network_files(wc.external, EXTERNAL[wc.external]),
    output:
        **{f.split(".")[0]: f"{EXTERNAL_OUT}/{f}" for f in _external.OUTPUTS},
    log:
        "results/external/logs/{external}.log",
    benchmark:
        "results/external/benchmarks/{external}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        spec=lambda wc: canonical(EXTERNAL[wc.external]),
        code=_EXTERNAL_CODE,
    run:
        _external.run_external(
            wildcards.external,
            params.spec,
            EXTERNAL_OUT.format(external=wildcards.external),
            log[0],
            threads,
        )


rule external:
    input:
        [f"results/external/{name}/report.md" for name in EXTERNAL],
