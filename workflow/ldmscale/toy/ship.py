"""Ship the trained toy family as small fp16 checkpoints, with checksums and the recipe that made them."""

from __future__ import annotations

import shutil
from pathlib import Path

from safetensors.torch import load_file, save_file

from .. import files, integrity, paths
from . import data


def _half_copy(source: Path, out: Path) -> None:
    """Copy a component directory, storing floating-point safetensors weights as float16."""
    shutil.copytree(source, out, ignore=shutil.ignore_patterns(integrity.CHECKSUMS, ".snakemake_timestamp"))
    for weights in sorted(out.rglob("*.safetensors")):
        tensors = load_file(weights)
        save_file({k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}, weights, {"format": "pt"})
    integrity.record_checksums(out)


def _ship_unets(
    tmp: Path, unets: dict[int, tuple[Path, Path]], student: bool, kind: str = "text_to_image"
) -> dict[str, dict]:
    """Copy each width's UNet and record under `tmp`; return the records by width."""
    records = {}
    for width, (unet, record) in sorted(unets.items()):
        member = tmp / paths.toy_member_dir(width, student, kind)
        _half_copy(Path(unet), member / "unet")
        shutil.copy(record, member / Path(record).name)
        records[str(width)] = files.read_json(record)
    return records


def ship(
    out: str | Path,
    parts: dict[str, Path],
    members: dict[int, tuple[Path, Path]],
    recipe: dict,
    repository,
    students: dict[int, tuple[Path, Path]] | None = None,
    sr_members: dict[int, tuple[Path, Path]] | None = None,
) -> dict:
    """Write the shipped checkpoints to `out` and return their record (also written as SHIPPED.json).

    `parts` maps text/vae/scorer to their trained directories; `members` maps each UNet width to
    its trained directory and training record, `students` each distilled width to its UNet and
    distillation record, and `sr_members` each super-resolution member's width to its UNet and training record.
    """
    with files.atomic_path(out) as tmp:
        for name, source in sorted(parts.items()):
            _half_copy(Path(source), tmp / name)
        shipped = {
            "data_version": data.DATA_VERSION,
            "recipe": recipe,
            "members": _ship_unets(tmp, members, student=False),
            "students": _ship_unets(tmp, students or {}, student=True),
            "sr_members": _ship_unets(tmp, sr_members or {}, student=False, kind="super_resolution"),
            "command": "make toy-checkpoints  (snakemake --configfile config/toy-family.yaml "
            "--config train_toy=True -- ship_toy, then copied to resources/toy/)",
            "commit": files.commit(repository),
            "weights": "float16 copies of the float32 training outputs; loaded back as float32",
            "sha256": {str(p.relative_to(tmp)): integrity.sha256(p) for p in sorted(tmp.rglob("*")) if p.is_file()},
        }
        files.write_json(tmp / "SHIPPED.json", shipped)
    return shipped
