# DSA operators of a condition's converged networks (one job per condition), then its pairs:
# DSA in one job per condition (one batched alignment of the whole set), the purely pairwise
# measures (weights, SVCCA) in chunks of at most pairwise.pairs_per_job pairs, one job per pair
# of seed blocks, gathered into the condition's table (docs/workflow.md, "Pairwise jobs").
#
# `params: networks` (the networks' rows, which say which converged) is a list of paths, not an
# input, on purpose: each row is an output of the same `extract` job as the network's
# trajectories and weights, which are inputs, so the job already runs after it and reruns with
# it. Declared as inputs they were 41,000 more edges of the paper's 14,000-job DAG, about 3 s of
# its dry run (benchmarks/dag_scale.py).


# Light: on a cluster the gathers run in the main Snakemake process (no submission).
localrules:
    pairwise_weights_gather,
    pairwise_svcca_gather,


rule dsa_fit:
    input:
        trajectories=seed_files(TRAJECTORIES),
        trajectories_probe2=seed_files(TRAJECTORIES_PROBE2),
    output:
        operators=f"{OUT}/dsa/{{condition}}/operators.parquet",
        null=f"{OUT}/dsa/{{condition}}/null.parquet",
    log:
        f"{OUT}/logs/dsa_fit/{{condition}}.log",
    benchmark:
        f"{OUT}/benchmarks/dsa_fit/{{condition}}.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    # measured (paper pilot, flip-flop, n = 512, 2,048 probe trials): 4.6 GB for 2 networks,
    # 4.8 min per network (50 networks: about 4 h, so 6 h with a margin)
    resources:
        mem_mb=8000,
        runtime=360,
    params:
        networks=seed_files(NETWORK),
        dsa=dsa_settings(DSA_FIT_KEYS),
        code=code("dsa_fit.py"),
    script:
        "scripts/dsa_fit.py"


rule pairwise_dsa:
    input:
        operators=rules.dsa_fit.output.operators,
        null=rules.dsa_fit.output.null,
    output:
        f"{OUT}/pairwise/{{condition}}/dsa.parquet",
    log:
        f"{OUT}/logs/pairwise/{{condition}}/dsa.log",
    benchmark:
        f"{OUT}/benchmarks/pairwise/{{condition}}/dsa.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        dsa=dsa_settings(DSA_DISTANCE_KEYS),
        code=code("pairwise_dsa.py"),
    script:
        "scripts/pairwise_dsa.py"


# One job per pair of seed blocks. Measured per pair on one core (docs/plan.md): about 27 s at
# n = 512 (the 6-seed pilot: 399 s for 15 pairs, start-up included), so the default 100 pairs
# per job is about 45 min at the paper's widest networks; runtime follows (60 min).
rule pairwise_weights:
    input:
        weights=chunk_seed_files(WEIGHTS),
        trajectories=chunk_seed_files(TRAJECTORIES),
    output:
        WEIGHT_CHUNK,
    log:
        f"{OUT}/logs/pairwise/{{condition}}/weights/{{chunk}}.log",
    benchmark:
        f"{OUT}/benchmarks/pairwise/{{condition}}/weights/{{chunk}}.tsv"
    wildcard_constraints:
        chunk=r"s\d+b\d+-\d+",
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        networks=chunk_seed_files(NETWORK),
        weights=SETTINGS["weights"],
        chunk=chunk_params,
        code=code("pairwise_weights.py"),
    script:
        "scripts/pairwise_weights.py"


rule pairwise_weights_gather:
    input:
        chunk_outputs(WEIGHT_CHUNK),
    output:
        f"{OUT}/pairwise/{{condition}}/weights.parquet",
    log:
        f"{OUT}/logs/pairwise/{{condition}}/weights.log",
    benchmark:
        f"{OUT}/benchmarks/gather/{{condition}}/weights.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code("pairwise_gather.py"),
    script:
        "scripts/pairwise_gather.py"


# SVCCA on both probe batches (metrics svcca and svcca_probe2) with a fixed number of components
# per task (svcca.n_components), and every pair's canonical correlations: one job per pair of
# seed blocks (its cost is mostly the bases of its at most 2 x block networks), then gathered.
rule pairwise_svcca:
    input:
        trajectories=chunk_seed_files(TRAJECTORIES),
        trajectories_probe2=chunk_seed_files(TRAJECTORIES_PROBE2),
    output:
        pairs=SVCCA_CHUNK,
        spectrum=SPECTRUM_CHUNK,
    log:
        f"{OUT}/logs/pairwise/{{condition}}/svcca/{{chunk}}.log",
    benchmark:
        f"{OUT}/benchmarks/pairwise/{{condition}}/svcca/{{chunk}}.tsv"
    wildcard_constraints:
        chunk=r"s\d+b\d+-\d+",
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    # measured (paper pilot): 5.4 GB for a flip-flop pair, n = 512, 2,048 probe trials
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        networks=chunk_seed_files(NETWORK),
        svcca=analysis("svcca"),
        chunk=chunk_params,
        code=code("pairwise_svcca.py"),
    script:
        "scripts/pairwise_svcca.py"


rule pairwise_svcca_gather:
    input:
        pairs=chunk_outputs(SVCCA_CHUNK),
        spectrum=chunk_outputs(SPECTRUM_CHUNK),
    output:
        pairs=f"{OUT}/pairwise/{{condition}}/svcca.parquet",
        spectrum=f"{OUT}/svcca/{{condition}}/spectrum.parquet",
    log:
        f"{OUT}/logs/pairwise/{{condition}}/svcca.log",
    benchmark:
        f"{OUT}/benchmarks/gather/{{condition}}/svcca.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        code=code("pairwise_gather.py"),
    script:
        "scripts/pairwise_gather.py"


# DSA robustness: the condition's pairs and nulls at rank and delay interval x0.5, x1, x2 of the
# task's setting (the dynamics verdict's `robust` column). The networks are fitted in blocks of
# dsa_grid.networks_per_job seeds (sized per condition to about 45 min: degeneracy.costs), then
# one job per condition computes each setting's pair distances from the blocks' operators.
rule dsa_grid_fit:
    input:
        trajectories=grid_block_files(TRAJECTORIES),
        trajectories_probe2=grid_block_files(TRAJECTORIES_PROBE2),
    output:
        GRID_FIT,
    log:
        f"{OUT}/logs/dsa_grid/{{condition}}/{{block}}.log",
    benchmark:
        f"{OUT}/benchmarks/dsa_grid/{{condition}}/{{block}}.tsv"
    wildcard_constraints:
        block=r"s\d+b\d+",
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
    params:
        networks=grid_block_files(NETWORK),
        dsa=dsa_settings(
            ("n_delays", "delay_interval", "rank", "ridge", "mode", "seed")
        ),
        code=code("dsa_grid_fit.py"),
    script:
        "scripts/dsa_grid_fit.py"


rule dsa_grid:
    input:
        grid_block_outputs,
    output:
        f"{OUT}/pairwise/{{condition}}/dsa_grid.parquet",
    log:
        f"{OUT}/logs/pairwise/{{condition}}/dsa_grid.log",
    benchmark:
        f"{OUT}/benchmarks/dsa_grid/{{condition}}.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    # 9 settings x the pairs of one condition (39 s per 1,225 pairs and setting)
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        dsa=dsa_settings(("mode", "seed")),
        code=code("dsa_grid.py"),
    script:
        "scripts/dsa_grid.py"


# All networks of an experiment's levels in one DSA space, per task (fig3 panel A, and each
# level's mean distance to its centroid).
rule joint_dsa:
    input:
        trajectories=joint_seed_files(TRAJECTORIES),
    output:
        joint=f"{OUT}/joint/{{experiment}}/{{task}}.parquet",
        spread=f"{OUT}/joint/{{experiment}}/{{task}}.spread.parquet",
    log:
        f"{OUT}/logs/joint_dsa/{{experiment}}/{{task}}.log",
    benchmark:
        f"{OUT}/benchmarks/joint_dsa/{{experiment}}/{{task}}.tsv"
    wildcard_constraints:
        task=r"[A-Za-z0-9_]+",
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        networks=joint_seed_files(NETWORK),
        groups=lambda w: joint_groups(w.experiment, w.task),
        dsa=lambda w: CONDITIONS[joint_groups(w.experiment, w.task)[0][0]].analysis[
            "dsa"
        ],
        aggregate=SETTINGS["aggregate"],
        code=code("joint_dsa.py"),
    script:
        "scripts/joint_dsa.py"
