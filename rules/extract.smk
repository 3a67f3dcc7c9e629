# Per-network extraction from the checkpoint: probe hidden states, OOD MSE, recurrent weights,
# feature learning (one networks-table row). DSA settings are not used here, so changing them
# never re-runs this stage.


rule trajectories:
    input:
        checkpoint="results/train/{condition}/seed{seed}.pt",
    output:
        network="results/extract/{condition}/seed{seed}/network.parquet",
        trajectories="results/extract/{condition}/seed{seed}/trajectories.parquet",
        weights="results/extract/{condition}/seed{seed}/weights.parquet",
    log:
        "results/logs/trajectories/{condition}/seed{seed}.log",
    conda:
        "../envs/degeneracy.yaml"
    threads: resource("trajectories", "threads")
    resources:
        mem_mb=resource("trajectories", "mem_mb"),
        runtime=resource("trajectories", "runtime"),
    params:
        settings=analysis("probe", "ood", "feature_learning"),
        code=CODE["trajectories"],
    script:
        "scripts/trajectories.py"


rule example_trial:
    input:
        checkpoint="results/train/{condition}/seed{seed}.pt",
    output:
        trial="results/extract/{condition}/seed{seed}/example_trial.parquet",
    log:
        "results/logs/example_trial/{condition}/seed{seed}.log",
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=resource("trajectories", "mem_mb"),
        runtime=resource("trajectories", "runtime"),
    params:
        settings=analysis("probe"),
        code=CODE["trajectories"],
    script:
        "scripts/example_trial.py"
