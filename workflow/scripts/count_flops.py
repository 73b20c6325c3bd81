"""Rule count_flops: params and FLOPs per call of each component, on the meta device."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import cost, files

with files.job_log(snakemake.log[0]) as log:
    result = cost.count_flops(snakemake.input[0], snakemake.params.resolution)
    log.info("%s", result)
    files.write_json(snakemake.output[0], result)
