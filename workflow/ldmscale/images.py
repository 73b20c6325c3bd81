"""Reading images: real image files as square uint8 arrays, generated shards, and the toy task's real images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from . import generate
from .toy import data


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


def real_toy_images(prompt_doc: dict, start: int, count: int, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Return real images and their labels for items start..start+count of the task's own data stream."""
    if prompt_doc["data_version"] != data.DATA_VERSION:
        raise ValueError(f"prompts were made with toy data v{prompt_doc['data_version']}, this is v{data.DATA_VERSION}")
    images, labels, _ = data.dataset(prompt_doc["seed"], start, count, image_size)
    return images, labels
