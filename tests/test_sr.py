"""Super-resolution tasks: seeded crops recorded with their files' SHA-256, and deterministic degradations."""

import numpy as np
import pytest
from PIL import Image

from ldmscale import integrity, sr


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    for i, (w, h) in enumerate([(96, 80), (64, 64), (120, 72)]):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(tmp_path / f"img{i}.png")
    return tmp_path


def test_crops_are_seeded_nested_and_recorded(folder):
    doc = sr.crops(folder, 12, 32, seed=3)
    assert doc == sr.crops(folder, 12, 32, seed=3)
    assert doc["items"][:5] == sr.crops(folder, 5, 32, seed=3)["items"]  # item i does not depend on num_images
    assert doc["items"] != sr.crops(folder, 12, 32, seed=4)["items"]
    for item in doc["items"]:
        left, top, right, bottom = item["box"]
        w, h = Image.open(folder / item["file"]).size
        assert right - left == bottom - top == 32 and left >= 0 and right <= w and top >= 0 and bottom <= h
        assert doc["sha256"][item["file"]] == integrity.sha256(folder / item["file"])
    truth = sr.ground_truth(doc, 7, check=True)
    item = doc["items"][7]
    expected = np.asarray(Image.open(folder / item["file"]).convert("RGB"))[
        item["box"][1] : item["box"][3], item["box"][0] : item["box"][2]
    ]
    assert truth.shape == (32, 32, 3) and np.array_equal(truth, expected)


def test_a_changed_or_small_file_is_named(folder):
    doc = sr.crops(folder, 4, 32, seed=0)
    name = doc["items"][0]["file"]
    Image.fromarray(np.zeros((80, 96, 3), np.uint8)).resize(Image.open(folder / name).size).save(folder / name)
    with pytest.raises(ValueError, match=f"{name}: changed since the task was prepared"):
        sr.ground_truth(doc, 0, check=True)
    with pytest.raises(ValueError, match="smaller than crop 70, e.g. img1.png"):
        sr.crops(folder, 4, 70, seed=0)
    with pytest.raises(ValueError, match="is not a directory"):
        sr.crops(folder / "missing", 4, 32, seed=0)


def test_bicubic_is_pil_downscaling_and_realesrgan_is_seeded_per_image(folder):
    hr = sr.ground_truth(sr.crops(folder, 1, 64, seed=0), 0)
    lr = sr.degrade(hr, 4, "bicubic", seed=0, index=0)
    assert np.array_equal(lr, np.asarray(Image.fromarray(hr).resize((16, 16), Image.Resampling.BICUBIC)))
    chains = [sr.degrade(hr, 4, "realesrgan", seed=s, index=i) for s, i in [(0, 0), (0, 0), (0, 1), (1, 0)]]
    assert all(c.shape == (16, 16, 3) and c.dtype == np.uint8 for c in chains)
    assert np.array_equal(chains[0], chains[1])
    assert not np.array_equal(chains[0], chains[2]) and not np.array_equal(chains[0], chains[3])
    # the chain degrades more than downscaling alone: farther from the bicubic image than bicubic is from itself
    assert np.abs(chains[0].astype(int) - lr).mean() > 2
    with pytest.raises(ValueError, match="unknown 'nearest'; valid: bicubic, realesrgan"):
        sr.degrade(hr, 4, "nearest", 0, 0)
    with pytest.raises(ValueError, match="not divisible by scale 3"):
        sr.degrade(hr, 3, "bicubic", 0, 0)


def test_a_toy_sr_task_crops_the_toy_data_stream():
    from ldmscale import tasks
    from ldmscale.toy import data

    spec = {"images": None, "crop": 32, "seed": 5, "scale": 4, "degradation": "bicubic", "prompt": "", "noise_level": 0}
    doc = tasks.super_resolution(spec, 3)
    assert doc["kind"] == "super_resolution" and doc["source"] == "toy" and len(doc["items"]) == 3
    images, labels, captions = data.dataset(5, 0, 3, 32)
    assert np.array_equal(np.stack(list(sr.truth_batches(doc, range(3), 2))[0]), images[:2])
    assert [item["caption"] for item in doc["items"]] == captions
    assert [item["labels"] for item in doc["items"]] == labels.tolist()  # what attr_acc scores an upscaled image by
    assert sr.inputs(doc, [2])[0].shape == (8, 8, 3)
    with pytest.raises(ValueError, match="prepared with toy data v0"):
        sr.ground_truth({**doc, "data_version": 0}, 0)


def test_the_gaussian_kernels_are_normalised_and_anisotropic_when_drawn_so():
    rng = np.random.default_rng(0)
    kernels = [sr._gaussian_kernel(rng, (0.2, 3.0), 0.5) for _ in range(20)]
    assert all(k.shape[0] % 2 == 1 and abs(k.sum() - 1) < 1e-12 and np.all(k >= 0) for k in kernels)
    assert any(not np.allclose(k, k.T) for k in kernels) and any(np.allclose(k, k.T) for k in kernels)


def _sr_config(folder, **task_changes):
    from helpers import ROOT
    from snakemake.utils import validate

    task = {"kind": "super_resolution", "super_resolution": {"images": str(folder), "crop": 32}, "num_images": 4}
    config = {
        "models": [{"name": "a", "toy": {"width": 8, "kind": "super_resolution"}}],
        "samplers": ["ddim"],
        "steps": [2],
        "guidance": [1.0],
        "tasks": {"sr": {**task, "metrics": ["psnr", "ssim", "lpips", "fid"], **task_changes}},
    }
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    return config


def test_an_sr_task_is_checked_naming_the_field(folder):
    from ldmscale import config as cfg

    config = _sr_config(folder)
    cfg.check(config)
    assert {c["guidance"] for c in cfg.configurations(config)} == {"1"}
    assert config["tasks"]["sr"]["super_resolution"] == {
        "images": str(folder), "scale": 4, "crop": 32, "degradation": "bicubic", "seed": 0, "prompt": "",
        "noise_level": 20,
        "baselines": ["bicubic"],
    }  # fmt: skip
    assert cfg.task_files_missing("tasks.sr", config["tasks"]["sr"]) == []
    assert cfg.extractor_files_missing(config)[-1].startswith("metrics.lpips.weights: not set; LPIPS needs its alex")
    bad = {
        "a super_resolution task has no text, so no classifier-free guidance": {**config, "guidance": [1.0, 2.0]},
        r"models\[0\] \('a'\).guidance: \[3.0\]": {**config, "models": [{**config["models"][0], "guidance": [3.0]}]},
        r"sr.super_resolution.crop \(30\) must be a multiple of scale \(4\)": _sr_config(folder, super_resolution={"images": str(folder), "crop": 30}),
        r"sr.metrics\[0\]: attr_acc scores toy images; it needs super_resolution.images: null": _sr_config(folder, metrics=["attr_acc"]),
        r"sr.metrics\[0\]: kid_toy scores toy images; .* and crop: 32 \(toy.image_size\)": _sr_config(folder, super_resolution={"images": None, "crop": 64}, metrics=["kid_toy"]),
        "toy.kind text_to_image cannot do the sweep's tasks": {**config, "models": [{"name": "a", "toy": {"width": 8, "kind": "text_to_image"}}]},
        "one sweep holds one task kind": {**config, "tasks": {**config["tasks"], "t2i": {**_sr_config(folder)["tasks"]["sr"], "kind": "text_to_image", "metrics": ["attr_acc"]}}},
    }  # fmt: skip
    for message, changed in bad.items():
        with pytest.raises(ValueError, match=message):
            cfg.check(changed)
    cfg.check(_sr_config(folder, super_resolution={"images": None, "crop": 32}, metrics=["kid_toy", "attr_acc"]))
    t2i = {
        **_sr_config(folder, kind="text_to_image", metrics=["psnr"]),
        "models": [{"name": "a", "toy": {"width": 8, "kind": "text_to_image"}}],
    }
    with pytest.raises(ValueError, match=r"sr.metrics\[0\]: psnr compares each output with its own ground truth"):
        cfg.check(t2i)
