# The results page: one self-contained HTML file per study, results/<study>/results.html
# (degeneracy.results_page; docs/outputs.md). `snakemake --cores 2 report` builds it and
# everything it shows; Snakemake's own `snakemake --report` is separate and unchanged.

from degeneracy.results_page import captions_from_rst as _captions_from_rst


# Light: on a cluster it runs in the main Snakemake process (no submission).
localrules:
    results_page,
    report,


rule results_page:
    input:
        effects=[f"{OUT}/effects.parquet"] if STUDY.experiments else [],
        summaries=[f"{OUT}/summary/{e}.parquet" for e in sorted(STUDY.experiments)],
        figures=[f"{OUT}/figures/{name}.png" for name in STUDY.figures],
        tables=[
            f"{OUT}/meta.parquet",
            f"{OUT}/networks.parquet",
            f"{OUT}/pairwise.parquet",
        ],
    output:
        html=f"{OUT}/results.html",
    log:
        f"{OUT}/logs/aggregate/results_page.log",
    benchmark:
        f"{OUT}/benchmarks/aggregate/results_page.tsv"
    conda:
        "../envs/degeneracy.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        title=f"Degeneracy study {STUDY.name}: results",
        experiments=sorted(STUDY.experiments),
        # figure -> its experiments (None: the whole study), in the registry's order
        figures={
            name: settings.get("experiments")
            for name, settings in STUDY.figures.items()
        },
        captions=_captions_from_rst(Path(workflow.basedir) / "report" / "figure.rst"),
        code=code("results_page.py"),
    script:
        "scripts/results_page.py"


rule report:
    input:
        rules.results_page.output.html,
