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
            "results/figures/{name}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "{name}"},
        ),
        pdf="results/figures/{name}.pdf",
    log:
        "results/logs/figures/{name}.log",
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=resource("figures", "mem_mb"),
        runtime=resource("figures", "runtime"),
    params:
        settings=lambda w: figure_settings(w.name),
        extra=figure_extra,
        code=CODE["figures"],
    script:
        "scripts/figure.py"
