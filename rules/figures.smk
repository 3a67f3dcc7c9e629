# Figures: one target per figure, results/figures/{name}.png and .pdf. Each depends only on
# the experiments it shows, so `snakemake results/figures/fig3.png` builds only its ancestors.


# Figures are light: on a cluster they run in the main Snakemake process (no submission).
localrules:
    figure,


rule figure:
    input:
        unpack(figure_inputs),
    output:
        png=report(
            f"{OUT}/figures/{{name}}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "{name}"},
        ),
        pdf=f"{OUT}/figures/{{name}}.pdf",
    log:
        f"{OUT}/logs/figures/{{name}}.log",
    benchmark:
        f"{OUT}/benchmarks/figures/{{name}}.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        settings=lambda w: figure_settings(w.name),
        extra=figure_extra,
        code=code("figure.py"),
    script:
        "scripts/figure.py"
