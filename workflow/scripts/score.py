"""Rule score: one metric over every image of one configuration, with its interval."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import io, tasks

with io.job_log(snakemake.log[0]) as log:
    i = snakemake.input
    reference = io.read_json(i.reference) if "reference" in i.keys() else None
    result = tasks.score(snakemake.wildcards.metric, i.shards, io.read_json(i.prompts), i.scorer, reference, snakemake.params.bootstrap)
    log.info("%s = %.4f [%.4f, %.4f]", snakemake.wildcards.metric, result["value"], result["ci_low"], result["ci_high"])
    io.write_json(snakemake.output[0], result)
