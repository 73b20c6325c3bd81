"""Sample grids: the same prompts across models (rows) and step counts (columns), as one PNG."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import files, paths
from .images import load_images

LABEL_PX = 14
MARGIN = 6


def grid(
    cells: dict[tuple[str, int], np.ndarray], models: list[str], steps: list[int], cell_px: int, note: str
) -> Image.Image:
    """Return the grid image: a row per model, a column per step count, each cell the same images side by side.

    `cells[(model, steps)]` holds (k, H, W, 3) uint8 images, the same k prompts in every cell; a model that
    does not sweep a step count (its own steps) leaves that cell blank.
    """
    k = len(next(iter(cells.values())))
    font = ImageFont.load_default(size=LABEL_PX)
    label_w = max(int(font.getlength(m)) for m in models) + 2 * MARGIN
    cell_w = k * cell_px + MARGIN
    _, _, note_w, note_h = ImageDraw.Draw(Image.new("RGB", (1, 1))).multiline_textbbox((0, 0), note, font=font)
    header, footer = LABEL_PX + 2 * MARGIN, note_h + 2 * MARGIN
    width = max(label_w + len(steps) * cell_w, note_w + 2 * MARGIN)
    canvas = Image.new("RGB", (width, header + len(models) * (cell_px + MARGIN) + footer), "white")
    draw = ImageDraw.Draw(canvas)
    for j, s in enumerate(steps):
        draw.text((label_w + j * cell_w, MARGIN), f"{s} steps", fill="black", font=font)
    for i, model in enumerate(models):
        top = header + i * (cell_px + MARGIN)
        draw.text((MARGIN, top + cell_px // 2 - LABEL_PX // 2), model, fill="black", font=font)
        for j, s in enumerate(steps):
            for n, image in enumerate(cells.get((model, s), [])):  # a model without these steps: blank
                tile = Image.fromarray(image)
                resample = Image.Resampling.NEAREST if tile.width <= cell_px else Image.Resampling.LANCZOS
                canvas.paste(tile.resize((cell_px, cell_px), resample), (label_w + j * cell_w + n * cell_px, top))
    draw.multiline_text((MARGIN, canvas.height - footer + MARGIN), note, fill="black", font=font)
    return canvas


def write(
    shard_dirs: list[str], prompt_doc: dict, models: list[str], steps: list[int], images: int, cell_px: int, out: str
) -> None:
    """Write the grid of the first `images` images of every (model, steps) among `shard_dirs` (one sampler and guidance)."""
    by_config: dict[tuple[str, int], list[str]] = {}
    for shard in shard_dirs:
        config = paths.config_from_path(shard)
        by_config.setdefault((config["model"], config["steps"]), []).append(shard)
    cells = {key: load_images(sorted(shards))[0][:images] for key, shards in by_config.items()}
    if prompt_doc.get("kind") == "super_resolution":  # what every row upscaled, and what it should have given
        from . import sr

        cells[("input", steps[0])] = sr.inputs(prompt_doc, range(images))
        cells[("ground truth", steps[0])] = [sr.ground_truth(prompt_doc, i) for i in range(images)]
        cells[("bicubic", steps[0])] = sr.baseline(prompt_doc, range(images), "bicubic")  # the zero-cost baseline
        models = ["input", "ground truth", "bicubic", *models]
        note = (f"Rows: the {prompt_doc['degradation']} input (×{prompt_doc['scale']} down), its ground truth, its "
                "bicubic upscaling (no model), each model's upscaling")  # fmt: skip
    else:
        prompts = {item["index"]: item["prompt"] for item in prompt_doc["items"]}
        note = "Prompts of the images in every cell, left to right:\n" + "\n".join(
            f"{i + 1}. {prompts[i]}" for i in range(images)
        )
    with files.atomic_path(out) as tmp:
        grid(cells, models, steps, cell_px, note).save(tmp, format="PNG")
