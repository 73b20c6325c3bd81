"""Rule frontier: Pareto sets, best configuration per budget, crossovers and charts."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import frontier, io

with io.job_log(snakemake.log[0]):
    frontier.write_all(snakemake.input[0], snakemake.output, snakemake.params.buckets)
