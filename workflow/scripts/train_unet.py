"""Rule train_unet: train one toy family member (text-to-image or super-resolution) with the shared recipe."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

import torch

from ldmscale import files
from ldmscale.toy import train, upscale

with files.job_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    # a super-resolution member: the same recipe, its own UNet and inputs (ldmscale.toy.upscale)
    trainer = upscale.train_sr_unet if snakemake.params.kind == "super_resolution" else train.train_unet
    with files.atomic_path(snakemake.output.unet) as out:
        record = trainer(
            Path(out),
            snakemake.params.width,
            Path(snakemake.input.vae),
            Path(snakemake.input.text),
            snakemake.params.recipe,
        )
    files.write_json(snakemake.output.record, {**record, "threads": snakemake.threads, "versions": files.python_info()})
