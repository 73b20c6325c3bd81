"""Rule reference_features: features of a task's real images for one extractor, computed once."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

import torch

from ldmscale import devices, features, files, paths

with files.job_log(snakemake.log[0]) as log, devices.claim():
    torch.set_num_threads(snakemake.threads)
    p, wc = snakemake.params, snakemake.wildcards
    kind = paths.extractor_kind(wc.extractor)
    prompt_doc = files.read_json(snakemake.input.prompts)
    arrays, metadata = features.reference_features(
        prompt_doc, kind, p.options, p.image_size, devices.resolve_device(p.device), int(wc.n)
    )
    if len(arrays["images"]) != int(wc.n):
        raise ValueError(f"{snakemake.input.prompts}: {len(arrays['images'])} real images, the path asks for {wc.n}")
    log.info("%s: %d real images", metadata["extractor"], len(arrays["images"]))
    features.save(snakemake.output[0], arrays, metadata)
