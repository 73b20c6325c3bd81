"""Shipped toy checkpoints: fp16 copies with checksums and recipe, verified at use, refused when they do not fit."""

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ldmscale import config as cfg
from ldmscale import files, integrity
from ldmscale.toy import nets, ship

ROOT = Path(__file__).resolve().parents[1]
RECIPE = {"seed": 0, "unet": {"steps": 10}}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, tiny_parts):
    out = tmp_path_factory.mktemp("ship") / "v9"
    records = tmp_path_factory.mktemp("record")
    files.write_json(records / "train.json", {"width": 8, "train_flops": 123})
    files.write_json(records / "distill.json", {"width": 8, "train_flops": 125, "distill_flops": 2})
    parts = {name: tiny_parts[name] for name in ("text", "vae", "scorer")}
    members = {8: (tiny_parts["unet"], records / "train.json")}
    files.write_json(records / "sr" / "train.json", {"width": 16, "train_flops": 7, "task": "super_resolution"})
    students = {8: (tiny_parts["unet"], records / "distill.json")}
    ship.ship(
        out,
        parts,
        members,
        RECIPE,
        ROOT,
        students,
        sr_members={16: (tiny_parts["unet"], records / "sr" / "train.json")},
    )
    return out


def test_shipped_weights_are_float16_with_checksums_and_provenance(shipped):
    record = json.loads((shipped / "SHIPPED.json").read_text())
    assert record["recipe"] == RECIPE and record["members"]["8"]["train_flops"] == 123
    assert "models/c8/unet/diffusion_pytorch_model.safetensors" in record["sha256"]
    assert record["commit"]  # this repository is a git checkout
    weights = load_file(shipped / "models/c8/unet/diffusion_pytorch_model.safetensors")
    assert {t.dtype for t in weights.values()} == {torch.float16}
    for part in ("text", "vae", "scorer", "models/c8/unet"):
        integrity.verify_checksums(shipped / part)


def test_shipped_parts_assemble_to_the_rounded_float32_weights(shipped, tiny_parts, tmp_path):
    nets.assemble(tmp_path / "pipe", shipped / "models/c8/unet", shipped / "vae", shipped / "text")
    loaded = load_file(tmp_path / "pipe/unet/diffusion_pytorch_model.safetensors")
    original = load_file(tiny_parts["unet"] / "diffusion_pytorch_model.safetensors")
    assert {t.dtype for t in loaded.values()} == {torch.float32}
    assert all(torch.equal(loaded[k], original[k].half().float()) for k in original)


def test_a_changed_shipped_file_is_refused_by_name(shipped, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(shipped, copy)
    weights = copy / "models/c8/unet/diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ValueError, match="diffusion_pytorch_model.safetensors"):
        nets.assemble(tmp_path / "pipe", copy / "models/c8/unet", copy / "vae", copy / "text")


def test_check_shipped_refuses_another_recipe_or_an_unshipped_width(shipped):
    config = {"toy": RECIPE, "models": [{"name": "a", "toy": {"width": 8}}]}
    assert cfg.check_shipped(config, shipped)["members"]["8"]
    with pytest.raises(ValueError, match=r"toy.unet differ from the recipe .* set train_toy: true"):
        cfg.check_shipped({**config, "toy": {"seed": 0, "unet": {"steps": 11}}}, shipped)
    with pytest.raises(
        ValueError, match=r"models\[0\] \('b'\): toy.width 16 has no shipped checkpoint \(shipped widths: 8\)"
    ):
        cfg.check_shipped({**config, "models": [{"name": "b", "toy": {"width": 16}}]}, shipped)
    student = {"name": "s", "toy": {"width": 16}, "distilled_from": "b"}
    with pytest.raises(
        ValueError, match=r"models\[0\] \('s'\): toy.width 16 has no shipped distilled student \(shipped widths: 8\)"
    ):
        cfg.check_shipped({**config, "models": [student]}, shipped)
    upscaler = {"name": "u", "toy": {"width": 8, "kind": "super_resolution"}}
    with pytest.raises(
        ValueError,
        match=r"models\[0\] \('u'\): toy.width 8 has no shipped super-resolution checkpoint \(shipped widths: 16\)",
    ):
        cfg.check_shipped({**config, "models": [upscaler]}, shipped)
    assert cfg.check_shipped({**config, "models": [{**upscaler, "toy": {**upscaler["toy"], "width": 16}}]}, shipped)


def test_students_ship_beside_their_teachers_with_their_distillation_record(shipped):
    record = json.loads((shipped / "SHIPPED.json").read_text())
    assert record["students"]["8"]["distill_flops"] == 2
    assert json.loads((shipped / "models/c8-lcm/distill.json").read_text())["train_flops"] == 125
    integrity.verify_checksums(shipped / "models/c8-lcm/unet")


def test_super_resolution_members_ship_in_their_own_directories(shipped):
    record = json.loads((shipped / "SHIPPED.json").read_text())
    assert record["sr_members"]["16"]["task"] == "super_resolution" and "16" not in record["members"]
    assert json.loads((shipped / "models/c16-sr/train.json").read_text())["train_flops"] == 7
    integrity.verify_checksums(shipped / "models/c16-sr/unet")


def test_provenance_hashes_the_config_as_resolved_and_names_the_commit(tmp_path):
    from ldmscale import files

    made = files.provenance({"b": 1, "a": [1, 2]}, ["c.yaml"], ROOT)
    assert made == files.provenance({"a": [1, 2], "b": 1}, ["c.yaml"], ROOT)  # key order does not matter
    assert made["config_sha256"] != files.provenance({"a": [1, 2], "b": 2}, [], ROOT)["config_sha256"]
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", made["commit"]) and files.commit(tmp_path) is None
