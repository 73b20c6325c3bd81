"""Rule toy_autoencoder: train the toy family's autoencoder."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

import torch

from ldmscale import files
from ldmscale.toy import train

with files.job_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    with files.atomic_path(snakemake.output[0]) as out:
        record = train.train_autoencoder(Path(out), p.seed, p.image_size, **p.recipe)
        files.write_json(Path(out) / "training.json", record)
