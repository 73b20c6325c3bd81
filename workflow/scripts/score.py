"""Rule score: one metric over every image of one configuration, with its interval (from cached features; no torch)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import files, scoring

with files.job_log(snakemake.log[0]) as log:
    i, p, metric = snakemake.input, snakemake.params, snakemake.wildcards.metric
    reference = i.reference if "reference" in i.keys() else None
    result = scoring.score(metric, files.read_json(i.prompts), i.features, reference, p.options, p.bootstrap)
    log.info("%s = %.4f [%.4f, %.4f]", metric, result["value"], result["ci_low"], result["ci_high"])
    files.write_json(snakemake.output[0], result)
