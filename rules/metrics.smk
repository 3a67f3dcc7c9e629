# DSA operators of a condition's converged networks (one job per condition), then all pairs
# of a condition in one job per metric.


rule dsa_fit:
    input:
        networks=seed_files(NETWORK),
        trajectories=seed_files(TRAJECTORIES),
    output:
        operators="results/dsa/{condition}/operators.parquet",
        null="results/dsa/{condition}/null.parquet",
    log:
        "results/logs/dsa_fit/{condition}.log",
    benchmark:
        "results/benchmarks/dsa_fit/{condition}.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: resource("dsa_fit", "threads")
    resources:
        mem_mb=resource("dsa_fit", "mem_mb"),
        runtime=resource("dsa_fit", "runtime"),
    params:
        dsa=dsa_settings(DSA_FIT_KEYS),
        code=CODE["dsa_fit"],
    script:
        "scripts/dsa_fit.py"


rule pairwise_dsa:
    input:
        operators="results/dsa/{condition}/operators.parquet",
        null="results/dsa/{condition}/null.parquet",
    output:
        "results/pairwise/{condition}/dsa.parquet",
    log:
        "results/logs/pairwise/{condition}/dsa.log",
    benchmark:
        "results/benchmarks/pairwise/{condition}/dsa.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: resource("pairwise", "threads")
    resources:
        mem_mb=resource("pairwise", "mem_mb"),
        runtime=resource("pairwise", "runtime"),
    params:
        dsa=dsa_settings(DSA_DISTANCE_KEYS),
        code=CODE["pairwise_dsa"],
    script:
        "scripts/pairwise_dsa.py"


rule pairwise_weights:
    input:
        networks=seed_files(NETWORK),
        weights=seed_files(WEIGHTS),
    output:
        "results/pairwise/{condition}/weights.parquet",
    log:
        "results/logs/pairwise/{condition}/weights.log",
    benchmark:
        "results/benchmarks/pairwise/{condition}/weights.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: resource("pairwise", "threads")
    resources:
        mem_mb=resource("pairwise", "mem_mb"),
        runtime=resource("pairwise", "runtime"),
    params:
        weights=SETTINGS["weights"],
        code=CODE["pairwise_weights"],
    script:
        "scripts/pairwise_weights.py"
