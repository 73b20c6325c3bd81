"""Procedural captioned scenes of two shapes: every image is a pure function of (seed, index).

A caption binds three attributes to each of two objects and relates them ("a small red circle
left of a large blue square"). Binding attributes to the right object is what small text-to-image
models get wrong first, so the task does not saturate as model size grows.

What the caption leaves open is drawn at random: where the objects sit (within what the relation
allows), their exact size within the size word, their rotation, and a background gradient. So an
image is one sample from a broad distribution given its caption, not a template: a one-step
sampler can only draw the blurred mean of that distribution, and the number of sampling steps
matters (data version 2 fixed the layout per relation, and every model's images were final by 4 steps).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from ..seeds import index_seed
from . import DATA_VERSION  # noqa: F401 (data.DATA_VERSION: the version of what this module draws)

OBJECT: dict[str, tuple[str, ...]] = {
    "size": ("small", "large"),
    "colour": ("red", "green", "blue", "yellow", "magenta", "cyan", "orange", "white"),
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
    "orange": (245, 135, 25),
    "white": (235, 235, 235),
}
COLOUR_JITTER = 15  # per channel, uniform ±

# Radii as fractions of the image side: uniform within each size word's range (the ranges do not touch).
RADII = {"small": (0.10, 0.13), "large": (0.17, 0.21)}
GAP = 0.04  # along the relation's axis the objects are at least r1 + r2 + GAP apart: they never overlap
SLANT = 0.6  # across that axis they are at most SLANT × their distance along it apart: the relation is unambiguous
BACKGROUND_MAX = 60  # background gradient channels stay dark, below every object colour's brightest channel


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


def layout(relation: str, radii: tuple[float, float], rng: np.random.Generator) -> list[tuple[float, float]]:
    """Return the two centres (x, y), as fractions of the side, of objects of `radii` placed as `relation` says.

    Drawn by rejection from uniform positions inside the frame: the first object comes first along the
    relation's axis (x for 'left of', y for 'above') by at least r1 + r2 + GAP, and the two are closer
    across that axis than SLANT times their distance along it.
    """
    (r1, r2), along = radii, 0 if relation == "left of" else 1
    while True:
        centres = [(rng.uniform(r, 1 - r), rng.uniform(r, 1 - r)) for r in (r1, r2)]
        distance = centres[1][along] - centres[0][along]
        if distance >= r1 + r2 + GAP and abs(centres[1][1 - along] - centres[0][1 - along]) <= SLANT * distance:
            return centres


def _polygon(shape: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    """Return the corners of a square (half-diagonal 0.9 r·√2) or a triangle (circumradius r), rotated by `angle`."""
    corners, radius = (4, 0.9 * r * math.sqrt(2)) if shape == "square" else (3, r)
    start = angle + (math.pi / 4 if shape == "square" else -math.pi / 2)
    return [
        (
            cx + radius * math.cos(start + 2 * math.pi * k / corners),
            cy + radius * math.sin(start + 2 * math.pi * k / corners),
        )
        for k in range(corners)
    ]


def _background(side: int, rng: np.random.Generator) -> Image.Image:
    """Return a linear gradient between two random dark colours, in a random direction."""
    a, b = rng.integers(0, BACKGROUND_MAX, size=(2, 3))
    theta = rng.uniform(0, 2 * math.pi)
    y, x = np.mgrid[0:side, 0:side] / (side - 1) - 0.5
    t = np.clip(0.5 + x * math.cos(theta) + y * math.sin(theta), 0, 1)[..., None]
    return Image.fromarray((a + (b - a) * t).round().astype(np.uint8))


def render(attrs: dict[str, str], size: int, seed: int, index: int) -> np.ndarray:
    """Return the image of `attrs` as uint8 (size, size, 3); everything the caption leaves open is drawn from (seed, index)."""
    rng = np.random.default_rng(index_seed(seed, index) ^ 0x5EED)
    scale = 4  # draw large, then downsample: anti-aliased edges
    side = size * scale
    image = _background(side, rng)
    draw = ImageDraw.Draw(image)
    radii = tuple(rng.uniform(*RADII[attrs[f"size_{k}"]]) for k in (1, 2))
    for k, ((cx, cy), r) in enumerate(zip(layout(attrs["relation"], radii, rng), radii), start=1):
        colour = tuple(
            int(np.clip(c + rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1), 0, 255)) for c in RGB[attrs[f"colour_{k}"]]
        )
        angle = rng.uniform(0, 2 * math.pi)
        cx, cy, r = cx * side, cy * side, r * side
        if attrs[f"shape_{k}"] == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        else:
            draw.polygon(_polygon(attrs[f"shape_{k}"], cx, cy, r, angle), fill=colour)
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
