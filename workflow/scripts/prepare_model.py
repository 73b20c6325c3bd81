"""Rule prepare_model: make resources/models/{model} a validated diffusers pipeline directory (or, for an
architecture-only model, its components' configs)."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/..")  # workflow/: ldmscale without an install (conda envs)

from pathlib import Path

from ldmscale import architectures, files, models

with files.job_log(snakemake.log[0]) as log:
    inputs, out, spec = snakemake.input, snakemake.output[0], snakemake.params.spec
    source = snakemake.params.source
    if source == "toy":
        models.assemble_toy(out, Path(inputs.unet), Path(inputs.vae), Path(inputs.text))
    elif source == "local":
        models.copy_local(inputs.local, out)
    elif source == "hub":
        models.fetch_hub(spec["repo_id"], spec["revision"], out)
    else:
        architectures.write(out, spec["preset"], spec["base_channels"], spec["unet"])
        log.info("architecture %s: configs only, random weights when used", spec)
    if source != "architecture":
        log.info("components: %s", models.validate_pipeline_dir(out))
