"""Procedural captioned scenes of two shapes: every image is a pure function of (seed, index).

A caption binds three attributes to each of two objects and relates them ("a small red circle
left of a large blue square"). Binding attributes to the right object is what small text-to-image
models get wrong first, so the task does not saturate as model size grows.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ..seeds import index_seed

# Bump when drawing or captioning changes: it is part of the path of everything built from the data.
DATA_VERSION = 2

OBJECT: dict[str, tuple[str, ...]] = {
    "size": ("small", "large"),
    "colour": ("red", "green", "blue", "yellow", "magenta", "cyan"),
    "shape": ("circle", "square", "triangle"),
}
# The first-named object is always the left (or upper) one, so an image has exactly one correct caption.
RELATIONS = ("left of", "above")

# Every label the scorer reads, in order: the relation, then each object's attributes.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "relation": RELATIONS,
    **{f"{name}_{k}": values for k in (1, 2) for name, values in OBJECT.items()},
}

RGB = {
    "red": (220, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 80, 230),
    "yellow": (230, 210, 40),
    "magenta": (210, 50, 210),
    "cyan": (40, 210, 220),
}

# Object centres as fractions of the image side, per relation; radii per size word.
CENTRES = {"left of": ((0.27, 0.5), (0.73, 0.5)), "above": ((0.5, 0.27), (0.5, 0.73))}
RADII = {"small": 0.11, "large": 0.17}
JITTER = 0.03  # keeps the two objects apart: centres stay ≥ 0.40 apart, radii sum ≤ 0.38


def attributes(seed: int, index: int) -> dict[str, str]:
    """Return the attribute values of item `index`, keyed as in ATTRIBUTES."""
    rng = np.random.default_rng(index_seed(seed, index))
    return {name: values[rng.integers(len(values))] for name, values in ATTRIBUTES.items()}


def caption(attrs: dict[str, str]) -> str:
    """Return the caption that states every attribute, e.g. 'a small red circle left of a large blue square'."""

    def thing(k):
        return f"a {attrs[f'size_{k}']} {attrs[f'colour_{k}']} {attrs[f'shape_{k}']}"

    return f"{thing(1)} {attrs['relation']} {thing(2)}"


def vocabulary() -> list[str]:
    """Return every word a caption can contain, sorted."""
    words = {"a"}
    for values in ATTRIBUTES.values():
        for value in values:
            words.update(value.split())
    return sorted(words)


def max_words() -> int:
    """Return the number of words of the longest caption."""
    return 2 * (1 + len(OBJECT)) + max(len(r.split()) for r in RELATIONS)


def _draw(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, colour: tuple) -> None:
    if shape == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif shape == "square":
        h = r * 0.9
        draw.rectangle([cx - h, cy - h, cx + h, cy + h], fill=colour)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + 0.8 * r), (cx + r, cy + 0.8 * r)], fill=colour)


def render(attrs: dict[str, str], size: int, seed: int, index: int) -> np.ndarray:
    """Return the image of `attrs` as uint8 (size, size, 3), with small jitter drawn from (seed, index)."""
    rng = np.random.default_rng(index_seed(seed, index) ^ 0x5EED)
    scale = 4  # draw large, then downsample: anti-aliased edges
    side = size * scale
    background = tuple(int(v) for v in rng.integers(0, 40, size=3))
    image = Image.new("RGB", (side, side), background)
    draw = ImageDraw.Draw(image)
    for k, (cx, cy) in enumerate(CENTRES[attrs["relation"]], start=1):
        cx = (cx + rng.uniform(-JITTER, JITTER)) * side
        cy = (cy + rng.uniform(-JITTER, JITTER)) * side
        r = RADII[attrs[f"size_{k}"]] * (1 + rng.uniform(-0.1, 0.1)) * side
        colour = tuple(int(np.clip(c + rng.integers(-15, 16), 0, 255)) for c in RGB[attrs[f"colour_{k}"]])
        _draw(draw, attrs[f"shape_{k}"], cx, cy, r, colour)
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
