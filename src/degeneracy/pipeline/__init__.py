"""Workflow stages: thin glue from files to the library functions.

One module per group of stages (see docs/workflow.md). Each public function takes explicit
paths and settings, so it can be called from Python, from the Snakemake wrappers in
``rules/scripts/`` or from tests, without Snakemake.
"""
