"""Tasks: the prompts of a task, its real images, and the features of real and generated images."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from . import features, generate, integrity, io, paths
from .toy import data

PROMPT_SOURCES = ("toy", "file", "coco")
PROMPT_FILE_TYPES = (".txt", ".csv", ".parquet")
IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


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
        annotations = io.read_json(captions_path)["annotations"]
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
    names = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_TYPES)
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


def load_square(path: str | Path, size: int) -> np.ndarray:
    """Return an image centre-cropped to a square and resized to `size` (PIL bicubic, antialiased), uint8 HWC RGB."""
    image = Image.open(path).convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side))
    if side != size:
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(image)


def image_batches(paths: list[str], size: int | None, batch: int):
    """Yield uint8 NHWC batches of the images at `paths` (resized to `size` when given), never all in memory."""
    for i in range(0, len(paths), batch):
        chunk = paths[i : i + batch]
        if size is None:
            yield generate.read_images(chunk)
        else:
            yield np.stack([load_square(p, size) for p in chunk])


def reference_features(
    prompt_doc: dict, kind: str, options: dict, image_size: int, device: str, count: int | None = None
) -> tuple[dict, dict]:
    """Return the features of the task's real images (checked against their recorded SHA-256) and their metadata.

    Toy tasks draw `count` real images from their own data stream, plus a held-out set the size
    of a generated one (features, predictions and labels): a metric's real-data floor, the best a
    perfect model could score at that sample size.
    """
    if kind == "toy":
        return _toy_reference(prompt_doc, options, image_size, count)
    ref = prompt_doc.get("reference")
    if not ref:
        raise ValueError("the task has no reference images (tasks.<task>.reference.images)")
    paths = [str(Path(ref["images"]) / name) for name in ref["files"]]
    for path, digest in zip(paths, ref["sha256"]):
        if integrity.sha256(path) != digest:
            raise ValueError(f"{path}: changed since the task was prepared; rerun prepare_task")
    arrays = features.extract(kind, options, image_batches(paths, image_size, options["batch_size"]), None, device)
    return arrays, _metadata(kind, options, len(paths))


def _toy_reference(prompt_doc: dict, options: dict, image_size: int, count: int) -> tuple[dict, dict]:
    n = len(prompt_doc["items"])
    reference, _ = _real_images(prompt_doc, 0, count, image_size)
    held_out, held_out_labels = _real_images(prompt_doc, count, n, image_size)
    arrays = features.extract("toy", options, [reference], None, "cpu")
    floor = features.extract("toy", options, [held_out], None, "cpu")
    arrays = {
        **arrays,
        "held_out": floor["images"],
        "held_out_predictions": floor["predictions"],
        "held_out_labels": held_out_labels,
    }
    return arrays, _metadata("toy", options, count)


def generated_features(
    shard_dirs: list[str], prompt_doc: dict, kind: str, options: dict, device: str
) -> tuple[dict, dict]:
    """Return the features of a configuration's images in index order (CLIP: and of their prompts), with metadata."""
    records = _checked_records(shard_dirs, prompt_doc)
    batches = image_batches([r["path"] for r in records], None, options["batch_size"])
    arrays = features.extract(kind, options, batches, [r["prompt"] for r in records], device)
    return arrays, _metadata(kind, options, len(records))


def _metadata(kind: str, options: dict, n: int) -> dict:
    return {
        "extractor": paths.extractor_key(kind, options),
        "weights_sha256": integrity.sha256(paths.extractor_weights(kind, options)),
        "n": str(n),
    }


def _checked_records(shard_dirs: list[str], prompt_doc: dict) -> list[dict]:
    """Return the manifest records of all shards in index order, checked against the task's prompts."""
    records = generate.shard_records(shard_dirs)
    items = {item["index"]: item for item in prompt_doc["items"]}
    indices = [r["index"] for r in records]
    if indices != sorted(items):
        raise ValueError(f"shards hold images {indices[:3]}… but the task has {len(items)} prompts; rerun generate")
    for record in records:
        if record["prompt"] != items[record["index"]]["prompt"]:
            raise ValueError(f"{record['path']}: generated from another prompt than the task's; rerun generate")
    return records


def _real_images(prompt_doc: dict, start: int, count: int, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return real images and their labels for items start..start+count of the task's own data stream."""
    if prompt_doc["data_version"] != data.DATA_VERSION:
        raise ValueError(f"prompts were made with toy data v{prompt_doc['data_version']}, this is v{data.DATA_VERSION}")
    images, labels, _ = data.dataset(prompt_doc["seed"], start, count, image_size)
    return images, labels
