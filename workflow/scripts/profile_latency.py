"""Rule profile_latency: median ms per component call at one batch size on the runtime device."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

import torch

from ldmscale import cost, gpu, io, models

with io.job_log(snakemake.log[0]) as log, gpu.claim():
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    pipe = models.load_pipeline(snakemake.input[0], models.resolve_device(p.device), p.dtype)
    resolution = cost.geometry(snakemake.input[0], p.resolution)["resolution"]
    result = cost.profile_latency(pipe, int(snakemake.wildcards.batch), resolution, p.warmup, p.repeats)
    log.info("%s", result["median_ms"])
    io.write_json(snakemake.output[0], {**result, "versions": io.python_info()})
