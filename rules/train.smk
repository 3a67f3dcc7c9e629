# Training: one job per (condition, seed). Resources here are the defaults everywhere; a
# cluster profile may override them (profiles/), the study config never does.


rule train:
    output:
        checkpoint=OUT + "/train/{condition}/seed{seed}.pt",
        log=OUT + "/train/{condition}/seed{seed}.log.parquet",
    log:
        OUT + "/logs/train/{condition}/seed{seed}.log",
    benchmark:
        OUT + "/benchmarks/train/{condition}/seed{seed}.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=240,
    params:
        config=training_config,
        code=scoped_code("train.py"),
    script:
        "scripts/train.py"
