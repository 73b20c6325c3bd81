"""ldmscale used as a Snakemake module, in the layout `snakedeploy deploy-workflow` writes: the user's workflow/Snakefile
imports every rule from this repository's Snakefile, with the user's config/config.yaml, in the user's directory."""

import subprocess
import sys

import yaml
from helpers import ROOT, planned_jobs

DEPLOYED = f"""configfile: "config/config.yaml"


module ldmscale:
    snakefile:
        "{ROOT / "Snakefile"}"
    config:
        config


use rule * from ldmscale as ldmscale_*
"""


def test_a_deployed_module_plans_a_sweep_without_toy_models(tmp_path):
    """A cost-only sweep of two architectures: no toy model, so no shipped checkpoints are looked for; the module's
    rules plan from the user's directory."""
    (tmp_path / "workflow").mkdir()
    (tmp_path / "config").mkdir()
    (tmp_path / "workflow" / "Snakefile").write_text(DEPLOYED)
    config = {"models": [{"name": "c64", "architecture": {"preset": "sd-c64"}},
                         {"name": "c128", "architecture": {"preset": "sd-c128"}}],
              "tasks": {}, "cost": {"latency": False}}  # fmt: skip
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--dry-run", "--cores", "1"], cwd=tmp_path,
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert planned_jobs(proc) == {"ldmscale_prepare_model": 2, "ldmscale_count_flops": 2, "ldmscale_cost_table": 1,
                                  "ldmscale_all": 1}  # fmt: skip
