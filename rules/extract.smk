# Per-network extraction from the checkpoint: probe hidden states (and on a second, independent
# probe batch of the same size: the DSA null), held-out and OOD MSE,
# recurrent weights, feature learning (one networks-table row). DSA settings are not used here,
# so changing them never re-runs this stage.


rule extract:
    input:
        checkpoint=CHECKPOINT,
    output:
        network=f"{OUT}/extract/{{condition}}/seed{{seed}}/network.parquet",
        trajectories=f"{OUT}/extract/{{condition}}/seed{{seed}}/trajectories.parquet",
        trajectories_probe2=f"{OUT}/extract/{{condition}}/seed{{seed}}/trajectories_probe2.parquet",
        weights=f"{OUT}/extract/{{condition}}/seed{{seed}}/weights.parquet",
    log:
        f"{OUT}/logs/extract/{{condition}}/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/extract/{{condition}}/seed{{seed}}.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        settings=analysis("probe", "ood", "eval", "feature_learning"),
        code=scoped_code("trajectories.py"),
    script:
        "scripts/trajectories.py"


rule example_trial:
    input:
        checkpoint=CHECKPOINT,
    output:
        trial=f"{OUT}/extract/{{condition}}/seed{{seed}}/example_trial.parquet",
    log:
        f"{OUT}/logs/example_trial/{{condition}}/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/example_trial/{{condition}}/seed{{seed}}.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        settings=analysis("probe"),
        code=scoped_code("example_trial.py"),
    script:
        "scripts/example_trial.py"


rule fixed_points:
    input:
        checkpoint=CHECKPOINT,
    output:
        f"{OUT}/extract/{{condition}}/seed{{seed}}/fixed_points.parquet",
    log:
        f"{OUT}/logs/fixed_points/{{condition}}/seed{{seed}}.log",
    benchmark:
        f"{OUT}/benchmarks/fixed_points/{{condition}}/seed{{seed}}.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        probe=lambda w: cond(w).analysis["probe"],
        settings={
            k: v for k, v in SETTINGS["fixed_points"].items() if k != "experiments"
        },
        code=scoped_code("fixed_points.py"),
    script:
        "scripts/fixed_points.py"
