"""Download the wheels the prepared GPU check carries (`make gpu-wheels`), and measure what a device call sends.

    python workflow/benchmarks/gpu/wheels.py --dest .whl                        # CPython 3.12, for the device
    python workflow/benchmarks/gpu/wheels.py --dest .whl-rehearse --python-version 3.11   # the same pins, for here

The device machine cannot fetch anything and gets at most 64 MiB: the working tree (tracked and untracked files that
git does not ignore, plus a shared/ folder inside the checkout) and the carried paths. The script prints that total
with the wheels; with `--check` it fails when that is over `--limit`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
LIST = HERE / "wheels.txt"
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64"]  # fmt: skip
MIB = 2**20


def pins(path: Path = LIST) -> list[tuple[str, bool]]:
    """Return the list's `name==version` lines, each with whether it is built from its sdist."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [(line.split("#")[0].strip(), line.endswith("# sdist")) for line in lines if line and line[0] != "#"]


def download(dest: Path, python_version: str) -> list[Path]:
    """Fill `dest` with exactly the listed wheels for CPython `python_version` on manylinux x86-64; return them."""
    dest.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    listed = dict(pins())
    binary = [pin for pin, sdist in listed.items() if not sdist]
    target = ["--python-version", python_version, "--implementation", "cp", *(f"--platform={p}" for p in PLATFORMS)]
    subprocess.run([*pip, "download", "--no-deps", "--only-binary=:all:", *target, "-d", dest, *binary], check=True)
    built = [pin for pin, sdist in listed.items() if sdist]
    if built:
        subprocess.run([*pip, "wheel", "--no-deps", "-w", dest, *built], check=True)
    wanted = {canonicalize_name(pin.split("==")[0]): pin.split("==")[1] for pin in listed}
    kept = []
    for wheel in sorted(dest.glob("*.whl")):
        name, version, *_ = parse_wheel_filename(wheel.name)
        if wanted.get(name) == str(version):
            kept.append(wheel)
        else:  # an earlier pin's wheel: two versions of one package stop the whole install there
            wheel.unlink()
    missing = set(wanted) - {parse_wheel_filename(w.name)[0] for w in kept}
    if missing:
        raise SystemExit(f"no wheel for {', '.join(sorted(missing))} in {dest}")
    return kept


def travelling_files(root: Path = ROOT) -> list[Path]:
    """Return what a device call sends from `root` besides carried paths: tracked files present in the working tree,
    untracked files git does not ignore, and a shared/ folder inside the checkout."""
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                         capture_output=True, check=True).stdout  # fmt: skip
    paths = {root / p for p in out.decode().split("\0") if p}
    paths |= set((root / "shared").rglob("*"))
    return sorted(p for p in paths if p.is_file() and not p.is_symlink())


def size(paths) -> int:
    return sum(p.stat().st_size for p in paths)


def travel_report(carried: list[Path], root: Path = ROOT) -> tuple[int, str]:
    """Return the bytes a device call carrying `carried` sends, and a report naming the largest parts."""
    tree = travelling_files(root)
    wheels = [f for c in carried for f in (c.rglob("*") if c.is_dir() else [c]) if f.is_file()]
    total = size(tree) + size(wheels)
    largest = sorted(tree, key=lambda p: p.stat().st_size, reverse=True)[:3]
    lines = [
        f"what a device call sends: {total / MIB:.1f} MiB = working tree {size(tree) / MIB:.1f} MiB "
        f"({len(tree)} files) + carried {size(wheels) / MIB:.1f} MiB ({len(wheels)} files)",
        "largest in the tree: "
        + ", ".join(f"{p.relative_to(root)} ({p.stat().st_size / MIB:.1f} MiB)" for p in largest),
    ]
    return total, "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dest", type=Path, default=ROOT / ".whl")
    parser.add_argument("--python-version", default="3.12", help="the device's Python (default 3.12)")
    parser.add_argument("--limit", type=float, default=60.0, help="MiB; the device's own limit is 64")
    parser.add_argument("--no-download", action="store_true", help="only measure what would travel")
    parser.add_argument("--check", action="store_true", help="fail when what would travel is over --limit")
    args = parser.parse_args()
    if not args.no_download:
        wheels = download(args.dest, args.python_version)
        print(f"{len(wheels)} wheels for CPython {args.python_version} in {args.dest}")
    total, report = travel_report([args.dest] if args.dest.exists() else [])
    print(report)
    if total > args.limit * MIB:
        if not args.check:
            print(f"over the {args.limit:g} MiB this check allows itself: `make gpu-slim` first (docs/gpu.md)")
            return
        raise SystemExit(
            f"{total / MIB:.1f} MiB is over the {args.limit:g} MiB this check allows itself (the device takes 64): "
            "send a tree without the shipped toy checkpoints (`make gpu-slim`, docs/gpu.md)"
        )


if __name__ == "__main__":
    main()
