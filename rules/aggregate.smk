# Aggregation: study-wide tables, one summary per experiment, the effects table.


# Light and study-wide: on a cluster they run in the main Snakemake process (no submission).
localrules:
    meta,
    networks,
    pairwise_all,
    summary,
    effects,


rule meta:
    output:
        f"{OUT}/meta.parquet",
    log:
        f"{OUT}/logs/aggregate/meta.log",
    benchmark:
        f"{OUT}/benchmarks/aggregate/meta.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        rows=STUDY.meta,
        code=code("meta.py"),
    script:
        "scripts/meta.py"


rule networks:
    input:
        network_files(),
    output:
        f"{OUT}/networks.parquet",
    log:
        f"{OUT}/logs/aggregate/networks.log",
    benchmark:
        f"{OUT}/benchmarks/aggregate/networks.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        code=code("concat.py"),
    script:
        "scripts/concat.py"


rule pairwise_all:
    input:
        pairwise_files(),
    output:
        f"{OUT}/pairwise.parquet",
    log:
        f"{OUT}/logs/aggregate/pairwise.log",
    benchmark:
        f"{OUT}/benchmarks/aggregate/pairwise_all.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        code=code("concat.py"),
    script:
        "scripts/concat.py"


# `params: networks`, not an input: each row comes from the same `extract` job as the
# trajectories and weights behind the pairwise tables, which are inputs (rules/metrics.smk).
rule summary:
    input:
        pairwise=lambda w: pairwise_files([w.experiment]),
        fixed_points=lambda w: fixed_point_files(w.experiment),
    output:
        f"{OUT}/summary/{{experiment}}.parquet",
    log:
        f"{OUT}/logs/aggregate/summary_{{experiment}}.log",
    benchmark:
        f"{OUT}/benchmarks/aggregate/summary_{{experiment}}.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        networks=lambda w: network_files([w.experiment]),
        meta=lambda w: STUDY.meta_rows([w.experiment]),
        aggregate=SETTINGS["aggregate"],
        code=code("summary.py"),
    script:
        "scripts/summary.py"


rule effects:
    input:
        meta=rules.meta.output[0],
        networks=rules.networks.output[0],
        pairwise=rules.pairwise_all.output[0],
        fixed_points=lambda w: [
            f for e in sorted(STUDY.experiments) for f in fixed_point_files(e)
        ],
        dsa_grid=expand(PAIRWISE, condition=sorted(CONDITIONS), metric="dsa_grid"),
    output:
        parquet=f"{OUT}/effects.parquet",
        markdown=f"{OUT}/effects.md",
    log:
        f"{OUT}/logs/aggregate/effects.log",
    benchmark:
        f"{OUT}/benchmarks/aggregate/effects.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        aggregate=SETTINGS["aggregate"],
        code=code("effects.py"),
    script:
        "scripts/effects.py"
