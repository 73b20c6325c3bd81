"""Procedural captioned shapes: every image is a pure function of (seed, index)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ..seeds import index_seed

# Bump when drawing or captioning changes: it is part of the path of everything built from the data.
DATA_VERSION = 1

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "size": ("small", "large"),
    "colour": ("red", "green", "blue", "yellow", "magenta", "cyan"),
    "shape": ("circle", "square", "triangle"),
    "position": ("left", "right", "top", "bottom"),
}

RGB = {
    "red": (220, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 80, 230),
    "yellow": (230, 210, 40),
    "magenta": (210, 50, 210),
    "cyan": (40, 210, 220),
}

# Centre of the object as a fraction of the image side, per position word.
CENTRES = {"left": (0.28, 0.5), "right": (0.72, 0.5), "top": (0.5, 0.28), "bottom": (0.5, 0.72)}
RADII = {"small": 0.13, "large": 0.22}


def attributes(seed: int, index: int) -> dict[str, str]:
    """Return the attribute values of item `index`."""
    rng = np.random.default_rng(index_seed(seed, index))
    return {name: values[rng.integers(len(values))] for name, values in ATTRIBUTES.items()}


def caption(attrs: dict[str, str]) -> str:
    """Return the caption that states every attribute, e.g. 'a small red circle on the left'."""
    where = {"left": "on the left", "right": "on the right", "top": "at the top", "bottom": "at the bottom"}
    return f"a {attrs['size']} {attrs['colour']} {attrs['shape']} {where[attrs['position']]}"


def vocabulary() -> list[str]:
    """Return every word a caption can contain, sorted."""
    words = {"a", "on", "the", "at"}
    for values in ATTRIBUTES.values():
        words.update(values)
    return sorted(words)


def render(attrs: dict[str, str], size: int, seed: int, index: int) -> np.ndarray:
    """Return the image of `attrs` as uint8 (size, size, 3), with small jitter drawn from (seed, index)."""
    rng = np.random.default_rng(index_seed(seed, index) ^ 0x5EED)
    scale = 4  # draw large, then downsample: anti-aliased edges
    side = size * scale
    cx, cy = CENTRES[attrs["position"]]
    cx = (cx + rng.uniform(-0.04, 0.04)) * side
    cy = (cy + rng.uniform(-0.04, 0.04)) * side
    r = RADII[attrs["size"]] * (1 + rng.uniform(-0.1, 0.1)) * side
    background = tuple(int(v) for v in rng.integers(0, 40, size=3))
    image = Image.new("RGB", (side, side), background)
    draw = ImageDraw.Draw(image)
    colour = tuple(int(np.clip(c + rng.integers(-15, 16), 0, 255)) for c in RGB[attrs["colour"]])
    if attrs["shape"] == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif attrs["shape"] == "square":
        h = r * 0.9
        draw.rectangle([cx - h, cy - h, cx + h, cy + h], fill=colour)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + 0.8 * r), (cx + r, cy + 0.8 * r)], fill=colour)
    return np.asarray(image.resize((size, size), Image.Resampling.BOX), dtype=np.uint8)


def labels(attrs: dict[str, str]) -> list[int]:
    """Return the class index of each attribute, in ATTRIBUTES order."""
    return [ATTRIBUTES[name].index(attrs[name]) for name in ATTRIBUTES]


def dataset(seed: int, start: int, count: int, size: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return images (count, size, size, 3) uint8, labels (count, n_attributes) and captions of items start..start+count."""
    images, targets, captions = [], [], []
    for index in range(start, start + count):
        attrs = attributes(seed, index)
        images.append(render(attrs, size, seed, index))
        targets.append(labels(attrs))
        captions.append(caption(attrs))
    return np.stack(images), np.asarray(targets, dtype=np.int64), captions
