"""Rule profile_latency: ms per component call at one batch size on the runtime device, checked end to end."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

import torch

from ldmscale import cost, devices, files, models

with files.job_log(snakemake.log[0]) as log, devices.claim():
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    pipe = models.load_pipeline(snakemake.input[0], devices.resolve_device(p.device), p.dtype)
    resolution = cost.geometry(snakemake.input[0], p.resolution)["resolution"]
    batch = int(snakemake.wildcards.batch)
    result = cost.profile_latency(pipe, batch, resolution, p.warmup, p.repeats, p.channels_last, p.compile)
    log.info("%s: median ms %s, MFU %s", result["device"], result["median_ms"], result["mfu"])
    checks = cost.end_to_end(pipe, result, p.end_to_end, p.warmup, p.end_to_end_repeats)
    for c in checks:
        log.info("end to end %s: measured / derived ms per image = %.3f", c, c["measured_over_derived"])
    files.write_json(snakemake.output[0], {**result, "end_to_end": checks, "versions": files.python_info()})
