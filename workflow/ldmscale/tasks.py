"""Tasks: what a task asks for: its prompts (one per image index) and the files of its real images."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from . import files, integrity
from .files import images_in
from .toy import data

PROMPT_SOURCES = ("toy", "file", "coco")
PROMPT_FILE_TYPES = (".txt", ".csv", ".parquet")


def prompts(spec: dict, num_images: int, reference: dict | None = None, reference_images: int | None = None) -> dict:
    """Return the task's prompt list (item i: its index, prompt, and where it came from) and its real images.

    A prompt file or COCO captions file gives a seeded random subset of `num_images` prompts; the
    document records the file's SHA-256 and the subset, so the task can be rebuilt and checked.
    """
    kinds = [k for k in PROMPT_SOURCES if k in spec]
    if len(kinds) != 1:
        raise ValueError(f"prompts: needs exactly one source of {', '.join(PROMPT_SOURCES)}; found {kinds or 'none'}")
    if kinds[0] == "toy":
        doc = toy_prompts(spec["toy"]["seed"], num_images)
    elif kinds[0] == "file":
        doc = file_prompts(spec["file"]["path"], spec["file"]["column"], spec["file"]["seed"], num_images)
    else:
        doc = coco_prompts(spec["coco"]["captions"], spec["coco"]["seed"], num_images)
    if reference and reference.get("images"):
        doc["reference"] = reference_files(reference, doc["items"], reference_images or num_images)
    return doc


def super_resolution(spec: dict, num_images: int) -> dict:
    """Return an SR task's document: item i's crop (file, box; files' SHA-256), how its input is made, and the text
    of text-conditioned upscalers as every item's prompt."""
    from . import sr

    if spec["images"]:
        doc = sr.crops(spec["images"], num_images, spec["crop"], spec["seed"])
    else:  # the toy stream's items, rendered at `crop` pixels; their labels are what the toy metrics read
        doc = {**toy_prompts(spec["seed"], num_images), "crop": spec["crop"]}
        for item in doc["items"]:
            item["caption"] = item.pop("prompt")
    for item in doc["items"]:
        item["prompt"] = spec["prompt"]
    keys = ("scale", "degradation", "noise_level")
    return {"kind": "super_resolution", **doc, **{k: spec[k] for k in keys}}


def toy_prompts(seed: int, num_images: int) -> dict:
    """Return captions drawn from the toy data generator, with their attribute labels."""
    items = []
    for index in range(num_images):
        attrs = data.attributes(seed, index)
        items.append({"index": index, "prompt": data.caption(attrs), "attributes": attrs, "labels": data.labels(attrs)})
    return {
        "source": "toy",
        "seed": seed,
        "data_version": data.DATA_VERSION,
        "attributes": list(data.ATTRIBUTES),
        "items": items,
    }


def read_prompt_file(path: str | Path, column: str) -> list[str]:
    """Return the prompts of a .txt (one per non-empty line), .csv or .parquet file (column `column`)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"prompts.file.path: {path} does not exist")
    if path.suffix == ".txt":
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if path.suffix not in PROMPT_FILE_TYPES:
        raise ValueError(
            f"prompts.file.path: {path}: unsupported type {path.suffix!r}; supported: {', '.join(PROMPT_FILE_TYPES)}"
        )
    import polars as pl

    table = pl.read_csv(path) if path.suffix == ".csv" else pl.read_parquet(path)
    if column not in table.columns:
        raise ValueError(f"prompts.file.column: {path} has no column {column!r}; columns: {', '.join(table.columns)}")
    values = table[column].to_list()
    empty = [i for i, v in enumerate(values) if not isinstance(v, str) or not v.strip()]
    if empty:
        raise ValueError(f"prompts.file: {path}: column {column!r} is empty or not text in rows {empty[:5]}")
    return [v.strip() for v in values]


def available(spec: dict) -> tuple[str, int | None]:
    """Return where a task's prompts come from (its config field under the task) and how many distinct prompts it
    can give: a file's rows, a COCO captions file's images (None: the toy's, unlimited; or a file not there)."""
    if "file" in spec:
        path = spec["file"]["path"]
        count = len(read_prompt_file(path, spec["file"]["column"])) if Path(path).is_file() else None
        return "prompts.file.path", count
    if "coco" in spec:
        path = spec["coco"]["captions"]
        if not Path(path).is_file():
            return "prompts.coco.captions", None
        annotations = files.read_json(path).get("annotations", [])
        return "prompts.coco.captions", len({a.get("image_id") for a in annotations if isinstance(a, dict)})
    return "prompts.toy", None


def subset(pool: int, n: int, seed: int, what: str) -> list[int]:
    """Return the first n of a seeded permutation of range(pool): a subset for N contains those for smaller N."""
    if n > pool:
        raise ValueError(f"{what} holds {pool} entries; num_images asks for {n}")
    return np.random.default_rng(seed).permutation(pool)[:n].tolist()


def file_prompts(path: str, column: str, seed: int, num_images: int) -> dict:
    """Return a seeded subset of the prompts of a .txt/.csv/.parquet file; `row` is the prompt's 0-based row."""
    texts = read_prompt_file(path, column)
    rows = subset(len(texts), num_images, seed, f"prompts.file.path {path}")
    items = [{"index": i, "prompt": texts[row], "row": row} for i, row in enumerate(rows)]
    source = {"path": str(path), "sha256": integrity.sha256(path), "column": column, "rows": len(texts)}
    return {"source": "file", "seed": seed, "file": source, "items": items}


def coco_prompts(captions_path: str, seed: int, num_images: int) -> dict:
    """Return one caption each for a seeded subset of the images of a COCO captions JSON (captions_val2014.json)."""
    try:
        annotations = files.read_json(captions_path)["annotations"]
        captions = sorted((a["id"], a["image_id"], a["caption"].strip()) for a in annotations)
    except FileNotFoundError:
        raise ValueError(f"prompts.coco.captions: {captions_path} does not exist") from None
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(
            f"prompts.coco.captions: {captions_path} is not a COCO captions file (annotations[].id, image_id, caption): {err!r}"
        ) from None
    order = subset(len(captions), len(captions), seed, f"prompts.coco.captions {captions_path}")
    items, seen = [], set()
    for position in order:  # the first caption drawn of each image, in the order drawn
        caption_id, image_id, text = captions[position]
        if image_id not in seen:
            seen.add(image_id)
            items.append({"index": len(items), "prompt": text, "image_id": image_id, "caption_id": caption_id})
        if len(items) == num_images:
            break
    if len(items) < num_images:
        raise ValueError(
            f"prompts.coco.captions: {captions_path} has captions of {len(items)} images; num_images asks for {num_images}"
        )
    source = {"path": str(captions_path), "sha256": integrity.sha256(captions_path), "captions": len(captions)}
    return {"source": "coco", "seed": seed, "file": source, "items": items}


def _image_id(name: str) -> int | None:
    """Return the COCO image id in a file name such as COCO_val2014_000000391895.jpg (its last digit run)."""
    digits = re.findall(r"\d+", Path(name).stem)
    return int(digits[-1]) if digits else None


def reference_files(reference: dict, items: list[dict], count: int) -> dict:
    """Return the real images of a task: a seeded subset of `count` files of a folder, or (match: image_id) the
    images of the task's COCO captions; names and SHA-256 recorded."""
    folder = Path(reference["images"])
    if not folder.is_dir():
        raise ValueError(f"reference.images: {folder} is not a directory")
    names = [p.name for p in images_in(folder)]
    if reference["match"] == "image_id":
        by_id = {_image_id(name): name for name in names}
        missing = [item["image_id"] for item in items if item.get("image_id") not in by_id]
        if missing:
            raise ValueError(
                f"reference.images: {folder} has no image for COCO image_id {missing[:5]} ({len(missing)} missing)"
            )
        chosen = [by_id[item["image_id"]] for item in items]
    else:
        chosen = [names[i] for i in subset(len(names), count, reference["seed"], f"reference.images {folder}")]
    return {
        "images": str(folder),
        "match": reference["match"],
        "files": chosen,
        "sha256": [integrity.sha256(folder / name) for name in chosen],
    }
