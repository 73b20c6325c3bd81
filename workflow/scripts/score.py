"""Rule score: one metric over every image of one configuration, with its interval."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from ldmscale import io, tasks

with io.job_log(snakemake.log[0]) as log:
    i, p, metric = snakemake.input, snakemake.params, snakemake.wildcards.metric
    reference = i.reference if "reference" in i.keys() else None
    if "features" in i.keys():
        result = tasks.score_features(metric, i.features, reference, p.options, p.bootstrap)
    else:
        reference = io.read_json(reference) if reference else None
        result = tasks.score(metric, i.shards, io.read_json(i.prompts), i.scorer, reference, p.bootstrap)
    log.info("%s = %.4f [%.4f, %.4f]", metric, result["value"], result["ci_low"], result["ci_high"])
    io.write_json(snakemake.output[0], result)
