"""Rule scaling: laws of quality in size and steps per task, sampler and metric, validated by leaving each size out;
the sizes nobody trained (predict: true) predicted from them."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

from ldmscale import files
from ldmscale.scaling import Size, write_all

with files.job_log(snakemake.log[0]) as log:
    p, i = snakemake.params, snakemake.input
    latency = {Path(f).parent.name: files.read_json(f) for f in i.latency}
    sizes = [Size(Path(f).parent.name, files.read_json(f), latency.get(Path(f).parent.name)) for f in i.flops]
    write_all(i.summary, i.per_image, snakemake.output, p.metrics, p.reps, p.forms, p.budgets, p.buckets,
              sizes, p.targets, p.served)  # fmt: skip
    log.info("scaling laws of %s, %d resamples, forms %s; predicted: %s", ", ".join(p.metrics), p.reps,
             ", ".join(p.forms), ", ".join(s.name for s in sizes) or "none")  # fmt: skip
