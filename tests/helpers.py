"""Running the workflow's command line from tests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny.yaml"


def tiny_config(**changes) -> dict:
    """Return the tiny test config with top-level keys replaced."""
    config = yaml.safe_load(TINY.read_text())
    config.update(changes)
    return config


def snakemake_command(workdir: Path, config: dict, *args: str) -> list[str]:
    """Return the command that runs Snakemake on ldmscale's Snakefile in `workdir` with `config` (written there)."""
    workdir.mkdir(parents=True, exist_ok=True)
    configfile = workdir / "test.yaml"  # the experiment "test": its results in results/test/
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    return [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
            "--configfile", str(configfile), "--cores", "2", *args]  # fmt: skip


def snakemake(workdir: Path, config: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run Snakemake on ldmscale's Snakefile in `workdir` with `config`; return the finished process."""
    proc = subprocess.run(snakemake_command(workdir, config, *args), capture_output=True, text=True, cwd=workdir)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Return {rule: count} from the 'Job stats' table of a dry run ({} when there is nothing to do)."""
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[1].split("Reasons:", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}
