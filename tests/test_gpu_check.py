"""The prepared GPU check's parts that need no GPU: its wheel list, what a device call sends, and its tables.

The check itself runs at toy sizes on CPU in `make gpu-rehearse` (run by .ci/run), from the same wheels.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest
from helpers import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

sys.path.insert(0, str(ROOT / "workflow" / "benchmarks" / "gpu"))
import device_env  # noqa: E402
import tables  # noqa: E402
import wheels  # noqa: E402

DEVICE_PYTHON = {"python_version": "3.12", "python_full_version": "3.12.3", "sys_platform": "linux",
                 "platform_machine": "x86_64", "platform_system": "Linux", "extra": ""}  # fmt: skip


def test_every_pinned_wheel_is_the_version_installed_here():
    pinned = dict(pin.split("==") for pin, _ in wheels.pins())
    assert {name: importlib.metadata.version(name) for name in pinned} == pinned


def test_the_wheels_and_the_device_image_hold_everything_the_check_imports():
    """What snakemake, diffusers and jsonschema need, recursively, is on the image or in the list (pulp aside)."""
    on_device = device_env.device_packages()
    pinned = {canonicalize_name(pin.split("==")[0]) for pin, _ in wheels.pins()}
    missing, seen, stack = set(), set(), ["snakemake", "diffusers", "jsonschema"]
    while stack:
        name = canonicalize_name(stack.pop())
        if name in seen or name in on_device:
            continue
        seen.add(name)
        if name not in pinned and name != "pulp":
            missing.add(name)
        for line in importlib.metadata.requires(name) or []:
            req = Requirement(line)
            if not req.marker or req.marker.evaluate(DEVICE_PYTHON):
                stack.append(req.name)
    assert not missing
    assert pinned <= seen, "a pinned wheel nothing needs"


def test_what_travels_is_tracked_and_untracked_unignored_files_and_shared(tmp_path):
    def write(path: str, size: int) -> None:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"x" * size)

    subprocess.run(["git", "init", "-q", tmp_path], check=True)
    write(".gitignore", 12)
    (tmp_path / ".gitignore").write_text("/ignored/\n/shared/\n")
    write("tracked.bin", 1000)
    write("untracked.txt", 100)
    write("ignored/big.bin", 10**6)
    write("shared/notes.md", 10)
    subprocess.run(["git", "-C", tmp_path, "add", "tracked.bin", ".gitignore"], check=True)
    names = {p.relative_to(tmp_path).as_posix() for p in wheels.travelling_files(tmp_path)}
    assert names == {".gitignore", "tracked.bin", "untracked.txt", "shared/notes.md"}
    write("ignored/wheels/a.whl", 5000)  # carried: ignored, and sent because the call names it
    total, report = wheels.travel_report([tmp_path / "ignored" / "wheels"], tmp_path)
    assert total == 1000 + 100 + 10 + len("/ignored/\n/shared/\n") + 5000
    assert "carried 0.0 MiB (1 files)" in report


def test_a_device_package_brings_what_it_requires_here_and_nothing_else():
    dists = {canonicalize_name(d.metadata["Name"]): d for d in importlib.metadata.distributions()}
    found = device_env.with_requirements({"huggingface-hub"}, dists)
    expected = {canonicalize_name(Requirement(r).name) for r in dists["huggingface-hub"].requires or []
                if not Requirement(r).marker or Requirement(r).marker.evaluate({"extra": ""})} & set(dists)  # fmt: skip
    assert "huggingface-hub" in found and expected <= found
    assert "diffusers" not in found and "snakemake" not in found
    assert device_env.on_device("nvidia-cublas-cu12", set()) and not device_env.on_device("polars", {"torch"})


def test_readme_and_gpu_page_each_hold_one_block_the_tables_fill(tmp_path):
    for path in (ROOT / "README.md", ROOT / "docs" / "gpu.md"):
        text = path.read_text()
        assert text.count(tables.BEGIN) == text.count(tables.END) == 1
        copy = tmp_path / path.name
        copy.write_text(text)
        tables.replace_block(copy, "| new |\n")
        new = copy.read_text()
        assert new.replace(f"{tables.BEGIN}\n| new |\n{tables.END}", "") == tables_free(text)
    (tmp_path / "plain.md").write_text("no markers\n")
    with pytest.raises(SystemExit, match="plain.md has no"):
        tables.replace_block(tmp_path / "plain.md", "x")


def tables_free(text: str) -> str:
    """Return `text` without its marked block."""
    start, end = text.index(tables.BEGIN), text.index(tables.END) + len(tables.END)
    return text[:start] + text[end:]
