"""Rule prepare_task: the task's prompts, one per image index, with what the scorer needs, and its real images."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import files, tasks

with files.job_log(snakemake.log[0]):
    p = snakemake.params
    files.write_json(snakemake.output[0], tasks.prompts(p.prompts, p.num_images, p.reference, p.reference_images))
