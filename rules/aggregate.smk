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
        OUT + "/meta.parquet",
    log:
        OUT + "/logs/aggregate/meta.log",
    benchmark:
        OUT + "/benchmarks/aggregate/meta.tsv"
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
        OUT + "/networks.parquet",
    log:
        OUT + "/logs/aggregate/networks.log",
    benchmark:
        OUT + "/benchmarks/aggregate/networks.tsv"
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
        OUT + "/pairwise.parquet",
    log:
        OUT + "/logs/aggregate/pairwise.log",
    benchmark:
        OUT + "/benchmarks/aggregate/pairwise_all.tsv"
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


rule summary:
    input:
        networks=lambda w: network_files([w.experiment]),
        pairwise=lambda w: pairwise_files([w.experiment]),
    output:
        OUT + "/summary/{experiment}.parquet",
    log:
        OUT + "/logs/aggregate/summary_{experiment}.log",
    benchmark:
        OUT + "/benchmarks/aggregate/summary_{experiment}.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
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
    output:
        parquet=OUT + "/effects.parquet",
        markdown=OUT + "/effects.md",
    log:
        OUT + "/logs/aggregate/effects.log",
    benchmark:
        OUT + "/benchmarks/aggregate/effects.tsv"
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
