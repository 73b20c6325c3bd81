"""The conda environment of the rules pins what pyproject.toml pins, and every rule that runs a job names it."""

import re
import tomllib

import yaml
from helpers import ROOT

ENV = ROOT / "envs" / "ldmscale.yaml"
RULE = re.compile(r"^rule (\w+):\n((?:[ \t]+.*\n|\n)*)", re.M)


def requirements(lines: list[str]) -> dict[str, str | None]:
    """Return {normalised name: pinned version or None} of requirement strings like 'torch==2.1' or 'tqdm'."""
    out = {}
    for line in lines:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(?:==\s*(\S+))?", line.strip())
        assert match, f"not a plain `name` or `name==version` requirement: {line!r}"
        out[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return out


def test_conda_env_pins_equal_pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # The test extra is the developer's; the cluster extra (the SLURM executor) belongs to the rules' environment too.
    wanted = requirements(project["dependencies"] + project["optional-dependencies"]["cluster"])
    env = yaml.safe_load(ENV.read_text())["dependencies"]
    pip = next(d["pip"] for d in env if isinstance(d, dict))
    assert requirements(pip) == wanted
    python = next(d for d in env if isinstance(d, str) and d.startswith("python="))
    assert project["requires-python"] == ">=" + python.removeprefix("python=")


def test_every_rule_that_runs_a_job_uses_the_conda_env():
    envs = {}
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for name, body in RULE.findall(smk.read_text()):
            envs[name] = [(smk.parent / p).resolve() for p in re.findall(r"^\s+conda:\s*\n\s+\"([^\"]+)\"", body, re.M)]
    assert len(envs) > 10 and "generate" in envs
    assert {name: paths for name, paths in envs.items() if paths != [ENV]} == {}


def test_every_gpu_rule_goes_to_the_slurm_profiles_gpu_partition():
    bodies = {
        name: body
        for smk in (ROOT / "workflow" / "rules").glob("*.smk")
        for name, body in RULE.findall(smk.read_text())
    }
    gpu_rules = {name for name, body in bodies.items() if re.search(r"^\s+gpu=1,", body, re.M)}
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())["set-resources"]
    assert {"generate", "profile_latency"} <= gpu_rules
    assert {name for name, resources in profile.items() if resources.get("slurm_partition") == "gpu"} == gpu_rules
