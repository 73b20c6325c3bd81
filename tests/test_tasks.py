"""Tasks from real data: prompt files, COCO captions, reference folders, seeded subsets recorded."""

import json

import numpy as np
import polars as pl
import pytest
from PIL import Image

from ldmscale import images, integrity, tasks

PROMPTS = [f"prompt number {i}" for i in range(20)]
NO_REFERENCE = {"images": None, "match": "sample", "seed": 0, "image_size": None}


@pytest.fixture
def prompt_files(tmp_path):
    (tmp_path / "p.txt").write_text("\n".join(PROMPTS[:10]) + "\n\n" + "\n".join(PROMPTS[10:]) + "\n")
    pl.DataFrame({"id": range(20), "caption": PROMPTS}).write_csv(tmp_path / "p.csv")
    pl.DataFrame({"caption": PROMPTS}).write_parquet(tmp_path / "p.parquet")
    return tmp_path


@pytest.mark.parametrize("name", ["p.txt", "p.csv", "p.parquet"])
def test_prompt_files_give_the_same_seeded_subset_with_provenance(prompt_files, name):
    path = prompt_files / name
    doc = tasks.prompts({"file": {"path": str(path), "column": "caption", "seed": 3}}, 5)
    rows = [item["row"] for item in doc["items"]]
    assert [item["prompt"] for item in doc["items"]] == [PROMPTS[r] for r in rows]
    assert [item["index"] for item in doc["items"]] == list(range(5)) and len(set(rows)) == 5
    assert doc["file"] == {"path": str(path), "sha256": integrity.sha256(path), "column": "caption", "rows": 20}
    larger = tasks.prompts({"file": {"path": str(path), "column": "caption", "seed": 3}}, 8)
    assert [item["row"] for item in larger["items"][:5]] == rows  # N = 8 extends N = 5
    other_seed = tasks.prompts({"file": {"path": str(path), "column": "caption", "seed": 4}}, 5)
    assert [item["row"] for item in other_seed["items"]] != rows


def test_prompt_file_errors_name_the_field_and_file(prompt_files):
    with pytest.raises(ValueError, match=r"prompts.file.column: .*p.csv has no column 'prompt'; columns: id, caption"):
        tasks.prompts({"file": {"path": str(prompt_files / "p.csv"), "column": "prompt", "seed": 0}}, 5)
    with pytest.raises(ValueError, match=r"prompts.file.path .*p.txt holds 20 entries; num_images asks for 30"):
        tasks.prompts({"file": {"path": str(prompt_files / "p.txt"), "column": "prompt", "seed": 0}}, 30)
    with pytest.raises(ValueError, match=r"prompts.file.path: .*missing.txt does not exist"):
        tasks.prompts({"file": {"path": str(prompt_files / "missing.txt"), "column": "prompt", "seed": 0}}, 5)


def coco_layout(root, image_ids=(9, 25, 30, 42), captions_per_image=2):
    """Write a COCO-style captions JSON and an image folder named as COCO names them; return (captions, folder)."""
    annotations = [
        {"id": 100 * k + image_id, "image_id": image_id, "caption": f" image {image_id} caption {k}\n"}
        for image_id in image_ids for k in range(captions_per_image)
    ]  # fmt: skip
    captions = root / "captions_val2014.json"
    captions.write_text(json.dumps({"images": [], "annotations": annotations}))
    folder = root / "val2014"
    folder.mkdir()
    for image_id in image_ids:
        colour = np.full((48, 64, 3), image_id * 5, dtype=np.uint8)
        Image.fromarray(colour).save(folder / f"COCO_val2014_{image_id:012d}.jpg", quality=95)
    return captions, folder


def test_coco_gives_one_caption_per_image_and_its_image(tmp_path):
    captions, folder = coco_layout(tmp_path)
    reference = {**NO_REFERENCE, "images": str(folder), "match": "image_id"}
    doc = tasks.prompts({"coco": {"captions": str(captions), "seed": 0}}, 3, reference, 3)
    ids = [item["image_id"] for item in doc["items"]]
    assert len(set(ids)) == 3 and set(ids) <= {9, 25, 30, 42}
    for item in doc["items"]:
        assert item["prompt"] == f"image {item['image_id']} caption {item['caption_id'] // 100}"  # stripped
    assert doc["reference"]["files"] == [f"COCO_val2014_{i:012d}.jpg" for i in ids]
    assert doc["reference"]["sha256"] == [integrity.sha256(folder / f) for f in doc["reference"]["files"]]
    assert doc["file"]["sha256"] == integrity.sha256(captions) and doc["file"]["captions"] == 8
    assert tasks.prompts({"coco": {"captions": str(captions), "seed": 0}}, 3, reference, 3) == doc


def test_coco_errors_name_the_file(tmp_path):
    captions, folder = coco_layout(tmp_path)
    with pytest.raises(ValueError, match="captions of 4 images; num_images asks for 5"):
        tasks.prompts({"coco": {"captions": str(captions), "seed": 0}}, 5)
    (folder / "COCO_val2014_000000000042.jpg").unlink()
    with pytest.raises(ValueError, match=r"reference.images: .*val2014 has no image for COCO image_id \[42\]"):
        tasks.prompts(
            {"coco": {"captions": str(captions), "seed": 0}},
            4,
            {**NO_REFERENCE, "images": str(folder), "match": "image_id"},
            4,
        )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": []}))
    with pytest.raises(ValueError, match=r"prompts.coco.captions: .*bad.json is not a COCO captions file"):
        tasks.prompts({"coco": {"captions": str(bad), "seed": 0}}, 2)


def test_reference_folder_sample_is_a_seeded_subset(tmp_path):
    _, folder = coco_layout(tmp_path)
    reference = {**NO_REFERENCE, "images": str(folder)}
    doc = tasks.prompts({"toy": {"seed": 1}}, 2, reference, 3)
    files = doc["reference"]["files"]
    assert len(set(files)) == 3 and doc["reference"]["match"] == "sample"
    assert tasks.prompts({"toy": {"seed": 1}}, 2, {**reference, "seed": 1}, 3)["reference"]["files"] != files
    with pytest.raises(ValueError, match=r"reference.images .*val2014 holds 4 entries; num_images asks for 5"):
        tasks.prompts({"toy": {"seed": 1}}, 2, reference, 5)


def test_real_images_are_centre_cropped_and_resized(tmp_path):
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    image[:, 10:50] = 200  # the centre square; the side bands are cropped away
    Image.fromarray(image).save(tmp_path / "x.png")
    square = images.load_square(tmp_path / "x.png", 20)
    assert square.shape == (20, 20, 3) and square.min() == 200
