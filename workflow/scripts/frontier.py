"""Rule frontier: best guidance, Pareto sets, best configuration per budget, crossovers with intervals, README.md."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

from ldmscale import files
from ldmscale.frontier.summary import write_all

with files.job_log(snakemake.log[0]):
    p = snakemake.params
    write_all(
        snakemake.input.summary,
        snakemake.input.per_image,
        snakemake.output,
        p.metrics,
        p.budgets,
        p.buckets,
        p.bootstrap,
        snakemake.input.get("refinement"),
        snakemake.input.get("refinement_open"),
        snakemake.input.get("scaling"),
        files.provenance(snakemake.config, p.configfiles, Path(snakemake.scriptdir).parents[1]),
        tolerance=p.tolerance,
    )
