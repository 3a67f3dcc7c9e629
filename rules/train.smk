# Training: one job per (condition, seed). Resources here are the defaults everywhere; a
# cluster profile may override them (profiles/), the study config never does.


rule train:
    output:
        checkpoint=f"{OUT}/train/{{condition}}/seed{{seed}}.pt",
        log=f"{OUT}/train/{{condition}}/seed{{seed}}.log.parquet",
    log:
        f"{OUT}/logs/train/{{condition}}/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/train/{{condition}}/seed{{seed}}.tsv"
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
