"""Rule prepare_model: make resources/models/{model} a validated diffusers pipeline directory."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

from ldmscale import io, models

with io.job_log(snakemake.log[0]) as log:
    inputs, out = snakemake.input, snakemake.output[0]
    if snakemake.params.source == "toy":
        models.assemble_toy(out, Path(inputs.unet), Path(inputs.vae), Path(inputs.text))
    else:
        models.copy_local(inputs.local, out)
    log.info("components: %s", models.validate_pipeline_dir(out))
