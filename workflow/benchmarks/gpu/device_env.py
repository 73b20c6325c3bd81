"""Make a virtual environment that holds only what the device image holds, for the GPU check's rehearsal.

    python workflow/benchmarks/gpu/device_env.py /tmp/device-venv     # run with .venv's Python

The new environment links, from the running interpreter's site-packages, the distributions that
device-packages.txt lists (torch with its CUDA libraries, transformers, torchmetrics, pytest, ...), with what those
require here, and nothing else: no diffusers, snakemake, polars, altair or open_clip. The rehearsal installs the carried wheels into a target
directory beside it, as the device does, so a package the check needs and the wheels lack fails here first.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import sysconfig
from pathlib import Path

from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
PREFIXES = ("nvidia-", "cuda-")  # torch's CUDA libraries: their names differ between CUDA 12 and 13 builds


def device_packages(path: Path = HERE / "device-packages.txt") -> set[str]:
    """Return the normalised names of the distributions the device image holds."""
    lines = (line.strip() for line in path.read_text().splitlines())
    return {canonicalize_name(line) for line in lines if line and not line.startswith("#")}


def on_device(name: str, device: set[str]) -> bool:
    name = canonicalize_name(name)
    return name in device or name.startswith(PREFIXES)


def with_requirements(names: set[str], dists: dict) -> set[str]:
    """Return `names` with what they require here, recursively: the image's packages come with their own needs (this
    huggingface_hub needs httpx2 where the image's older one needs httpx), which are not the check's."""
    from packaging.requirements import Requirement

    found, stack = set(), list(names)
    while stack:
        name = stack.pop()
        if name in found or name not in dists:
            continue
        found.add(name)
        for line in dists[name].requires or []:
            req = Requirement(line)
            if not req.marker or req.marker.evaluate({"extra": ""}):
                stack.append(canonicalize_name(req.name))
    return found


def main() -> None:
    target = Path(sys.argv[1])
    subprocess.run([sys.executable, "-m", "venv", "--clear", "--without-pip", target], check=True)
    source = Path(sysconfig.get_paths()["purelib"])
    [site] = (target / "lib").glob("python*/site-packages")
    dists = {canonicalize_name(d.metadata["Name"]): d for d in importlib.metadata.distributions(path=[str(source)])}
    wanted = with_requirements({n for n in dists if on_device(n, device_packages())}, dists)
    linked = set()
    for name in wanted:
        dist = dists[name]
        for entry in {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            if entry not in linked and (source / entry).exists():
                (site / entry).symlink_to(source / entry)
                linked.add(entry)
    left = sorted(set(dists) - wanted)
    print(f"{target}: {len(linked)} entries linked from {source}; left out: {', '.join(left)}")


if __name__ == "__main__":
    main()
