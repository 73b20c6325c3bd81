"""Rule reference_stats: statistics of real images for one task and metric, computed once."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import io, tasks

with io.job_log(snakemake.log[0]):
    p, i = snakemake.params, snakemake.input
    stats = tasks.reference_stats(
        io.read_json(i.prompts), i.scorer, snakemake.wildcards.metric, p.reference_images, p.image_size
    )
    io.write_json(snakemake.output[0], stats)
