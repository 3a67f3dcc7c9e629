# Training: one job per (condition, seed).


rule train:
    output:
        checkpoint="results/train/{condition}/seed{seed}.pt",
        log="results/train/{condition}/seed{seed}.log.parquet",
    log:
        "results/logs/train/{condition}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{condition}/seed{seed}.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: resource("train", "threads")
    resources:
        mem_mb=resource("train", "mem_mb"),
        runtime=resource("train", "runtime"),
    params:
        config=training_config,
        code=CODE["train"],
    script:
        "scripts/train.py"
