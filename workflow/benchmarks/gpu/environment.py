"""What the GPU check ran on: the device, its driver and CUDA, and the versions that matter, as JSON.

python workflow/benchmarks/gpu/environment.py env.json
"""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from ldmscale import devices, files  # noqa: E402

PACKAGES = ("torch", "diffusers", "transformers", "snakemake", "torchmetrics", "numpy", "triton")


def main() -> None:
    import torch

    device = torch.device(devices.resolve_device("auto"))
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    record = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "device": devices.device_info(device),
        "gpus": torch.cuda.device_count(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": files.commit(Path(__file__).resolve().parents[3]),
        "cpu_threads": torch.get_num_threads(),
    }
    files.write_json(sys.argv[1], record)
    print(record)


if __name__ == "__main__":
    main()
