"""Rule scaling: laws of quality in size and steps per task, sampler and metric, validated by leaving each size out."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import files
from ldmscale.scaling import write_all

with files.job_log(snakemake.log[0]) as log:
    p = snakemake.params
    i = snakemake.input
    write_all(i.summary, i.per_image, snakemake.output, p.metrics, p.reps, p.forms, p.budgets, p.buckets)
    log.info("scaling laws of %s, %d resamples, forms %s", ", ".join(p.metrics), p.reps, ", ".join(p.forms))
