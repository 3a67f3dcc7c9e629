"""Solution degeneracy across task-trained RNNs: the study workflow.

snakemake --cores 2                                   # the default study (workflow_config.yaml)
snakemake --cores 2 results/figures/fig3.png          # one figure and only what it needs
snakemake --cores 2 --configfile configs/test.yaml    # the tiny test study

See docs/workflow.md.
"""

from snakemake.utils import min_version, validate

min_version("9.0")


# A --configfile given on the command line replaces the default study (it is not merged into
# it); --config KEY=VALUE still overrides single keys of whichever study is loaded.
if not workflow.overwrite_configfiles:

    configfile: "workflow_config.yaml"


# one clear line and exit 1 on a bad config (rules/check_config.smk); then Snakemake's own check
include: "rules/check_config.smk"


validate(config, "schemas/config.schema.yaml")


include: "rules/common.smk"


wildcard_constraints:
    condition=r"[A-Za-z0-9_.\-]+",
    seed=r"\d+",
    experiment=r"[A-Za-z0-9_\-]+",
    name="|".join(FIGURE_NAMES),


include: "rules/train.smk"
include: "rules/trajectories.smk"
include: "rules/metrics.smk"
include: "rules/aggregate.smk"
include: "rules/figures.smk"


rule all:
    default_target: True
    input:
        all_targets(),
