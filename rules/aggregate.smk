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
        "results/meta.parquet",
    log:
        "results/logs/aggregate/meta.log",
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        rows=STUDY.meta,
        code=CODE["collect"],
    script:
        "scripts/meta.py"


rule networks:
    input:
        network_files(),
    output:
        "results/networks.parquet",
    log:
        "results/logs/aggregate/networks.log",
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=CODE["collect"],
    script:
        "scripts/concat.py"


rule pairwise_all:
    input:
        pairwise_files(),
    output:
        "results/pairwise.parquet",
    log:
        "results/logs/aggregate/pairwise.log",
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        code=CODE["collect"],
    script:
        "scripts/concat.py"


rule summary:
    input:
        networks=lambda w: network_files([w.experiment]),
        pairwise=lambda w: pairwise_files([w.experiment]),
    output:
        "results/summary/{experiment}.parquet",
    log:
        "results/logs/aggregate/summary_{experiment}.log",
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        meta=lambda w: STUDY.meta_rows([w.experiment]),
        aggregate=SETTINGS["aggregate"],
        code=CODE["aggregate"],
    script:
        "scripts/summary.py"


rule effects:
    input:
        meta="results/meta.parquet",
        networks="results/networks.parquet",
        pairwise="results/pairwise.parquet",
    output:
        parquet="results/effects.parquet",
        markdown="results/effects.md",
    log:
        "results/logs/aggregate/effects.log",
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=resource("aggregate", "mem_mb"),
        runtime=resource("aggregate", "runtime"),
    params:
        aggregate=SETTINGS["aggregate"],
        code=CODE["aggregate"],
    script:
        "scripts/effects.py"
