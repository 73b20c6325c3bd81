"""Rule image_features: features of one configuration's images (and CLIP: their prompts) for one extractor."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

import torch

from ldmscale import devices, features, files, paths

with files.job_log(snakemake.log[0]) as log, devices.claim():
    torch.set_num_threads(snakemake.threads)
    p, i = snakemake.params, snakemake.input
    kind = paths.extractor_kind(snakemake.wildcards.extractor)
    count = int(snakemake.wildcards.n) if "n" in snakemake.wildcards.keys() else None  # a refined sweep's first n
    arrays, metadata = features.generated_features(
        i.shards, files.read_json(i.prompts), kind, p.options, devices.resolve_device(p.device), count
    )
    log.info("%s: %s images", metadata["extractor"], metadata["n"])
    features.save(snakemake.output[0], arrays, metadata)
