"""Solution degeneracy across task-trained RNNs: the study workflow.

snakemake --cores 2                                          # the default study -> results/default/
snakemake --cores 2 results/default/figures/fig3.png         # one figure and only what it needs
snakemake --cores 2 --configfile configs/test.yaml           # the tiny test study -> results/test/
snakemake --cores 2 --config only=[width] seeds=3            # a subset -> results/default+only=width+seeds=3/
snakemake --cores 2 report                                   # the results page -> results/default/results.html

See docs/workflow.md.
"""

import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# The workflow's own library (src/), ahead of any installed copy: the config is checked and
# the jobs run with the same code.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))


# A --configfile given on the command line replaces the default study (it is not merged into
# it); --config KEY=VALUE still overrides single keys of whichever study is loaded.
if not workflow.overwrite_configfiles:

    configfile: "workflow_config.yaml"


include: "rules/common.smk"


wildcard_constraints:
    condition=r"[A-Za-z0-9_.\-]+",
    seed=r"\d+",
    experiment=r"[A-Za-z0-9_\-]+",
    name="|".join(FIGURE_NAMES),


include: "rules/train.smk"
include: "rules/extract.smk"
include: "rules/metrics.smk"
include: "rules/aggregate.smk"
include: "rules/figures.smk"
include: "rules/external.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
