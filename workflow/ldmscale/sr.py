"""Super-resolution tasks: which crop is image i, its ground truth, and the degraded low-resolution input it comes from.

Everything about image i is a pure function of (task seed, i): the file and position of its crop, and the random
draws of its degradation. So item i is the same in a task of any size, in any shard, at any batch size, and every
output pairs with its own ground truth.

Degradations:
- `bicubic`: the crop downscaled by `scale` with PIL's antialiased bicubic filter (the classical SR benchmark setting).
- `realesrgan`: the second-order chain of Real-ESRGAN (Wang et al., ICCV Workshops 2021, §3.1; the ranges of its
  `train_realesrnet_x4plus.yml`), twice [blur, random resize, Gaussian or Poisson noise, JPEG], then a resize to the
  target size (area, bilinear or bicubic) and a last JPEG (the original also draws the order of these two). Its blur kernels are Gaussian only (isotropic with probability 0.45/0.70, else
  anisotropic and rotated), where the original also draws generalised-Gaussian, plateau and sinc kernels: those
  change the blur's shape, not the chain.
"""

from __future__ import annotations

import io
import math
import time
from pathlib import Path

import numpy as np
from PIL import Image

from . import integrity
from .files import IMAGE_TYPES, images_in
from .seeds import index_seed

DEGRADATIONS = ("bicubic", "realesrgan")

# Real-ESRGAN's train_realesrnet_x4plus.yml: (first stage, second stage).
REALESRGAN = {
    "blur_prob": (1.0, 0.8),
    "blur_sigma": ((0.2, 3.0), (0.2, 1.5)),
    "isotropic_prob": (0.45 / 0.70, 0.45 / 0.70),  # iso / (iso + aniso) of its Gaussian kernel probabilities
    "resize_prob": ((0.2, 0.7, 0.1), (0.3, 0.4, 0.3)),  # up, down, keep
    "resize_range": ((0.15, 1.5), (0.3, 1.2)),
    "gaussian_noise_prob": (0.5, 0.5),
    "noise_range": ((1.0, 30.0), (1.0, 25.0)),
    "poisson_scale_range": ((0.05, 3.0), (0.05, 2.5)),
    "gray_noise_prob": (0.4, 0.4),
    "jpeg_range": ((30, 95), (30, 95)),
}
KERNEL_SIZES = (7, 9, 11, 13, 15, 17, 19, 21)
RESIZE_MODES = (Image.Resampling.BOX, Image.Resampling.BILINEAR, Image.Resampling.BICUBIC)  # area, bilinear, bicubic


def image_files(folder: str | Path) -> list[Path]:
    """Return the image files of a folder, sorted by name, or raise ValueError naming the folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"images: {folder} is not a directory")
    found = images_in(folder)
    if not found:
        raise ValueError(f"images: {folder} holds no images ({', '.join(IMAGE_TYPES)})")
    return found


def crops(folder: str | Path, num_images: int, crop: int, seed: int) -> dict:
    """Return the task document of an SR task: per index, its file, crop box (left, top, right, bottom) and the
    files' SHA-256. Crop i draws its file and position from (seed, i) alone; files smaller than `crop` are refused."""
    files = image_files(folder)
    sizes = {}
    for path in files:
        with Image.open(path) as image:
            sizes[path.name] = image.size
    small = [name for name, (w, h) in sizes.items() if min(w, h) < crop]
    if small:
        raise ValueError(f"images: {folder}: {len(small)} files are smaller than crop {crop}, e.g. {small[0]}")
    items = []
    for index in range(num_images):
        rng = np.random.default_rng(index_seed(f"sr-crop:{seed}", index))
        name = files[int(rng.integers(len(files)))].name
        width, height = sizes[name]
        left, top = int(rng.integers(width - crop + 1)), int(rng.integers(height - crop + 1))
        items.append({"index": index, "file": name, "box": [left, top, left + crop, top + crop]})
    used = sorted({item["file"] for item in items})
    return {
        "source": "images",
        "images": str(folder),
        "seed": seed,
        "crop": crop,
        "sha256": {name: integrity.sha256(Path(folder) / name) for name in used},
        "items": items,
    }


def ground_truth(doc: dict, index: int, check: bool = False) -> np.ndarray:
    """Return the high-resolution crop of item `index` (uint8 HWC RGB); `check` verifies its file's SHA-256 first
    (a toy task's data version instead)."""
    item = doc["items"][index]
    if doc["source"] == "toy":
        from .toy import DATA_VERSION, data

        if doc["data_version"] != DATA_VERSION:
            raise ValueError(f"the task was prepared with toy data v{doc['data_version']}, this is v{DATA_VERSION}")
        return data.render(item["attributes"], doc["crop"], doc["seed"], index)
    path = Path(doc["images"]) / item["file"]
    if check and integrity.sha256(path) != doc["sha256"][item["file"]]:
        raise ValueError(f"{path}: changed since the task was prepared; rerun prepare_task")
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB").crop(tuple(item["box"])))


def truth_batches(doc: dict, indices, batch: int):
    """Yield uint8 NHWC batches of the ground truths of `indices`, each file checked against its SHA-256 once."""
    checked = set()
    indices = list(indices)
    for start in range(0, len(indices), batch):
        out = []
        for index in indices[start : start + batch]:
            name = doc["items"][index].get("file")
            out.append(ground_truth(doc, index, check=name not in checked))
            checked.add(name)
        yield np.stack(out)


def inputs(doc: dict, indices) -> list[np.ndarray]:
    """Return the low-resolution inputs of `indices` of an SR task document (uint8 HWC each)."""
    return [degrade(ground_truth(doc, i), doc["scale"], doc["degradation"], doc["seed"], i) for i in indices]


BASELINE_FILTERS = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR,
                    "nearest": Image.Resampling.NEAREST}  # fmt: skip


def baseline(doc: dict, indices, method: str) -> list[np.ndarray]:
    """Return the inputs of `indices` upscaled to the crop's size by PIL's `method` filter, no model (uint8 HWC)."""
    size = (doc["crop"], doc["crop"])
    return [np.asarray(Image.fromarray(x).resize(size, BASELINE_FILTERS[method])) for x in inputs(doc, indices)]


def write_baseline_shard(doc: dict, method: str, indices: range, out: str | Path) -> dict:
    """Write the baseline `method`'s images of `indices` as a shard (PNGs, then the manifest, atomically), as
    `generate.generate_shard` writes a model's: no sampling step, no UNet call, so zero sampling cost."""
    from . import files, images

    start = time.perf_counter()
    with files.atomic_path(out) as tmp:
        tmp.mkdir()
        upscaled = zip(indices, baseline(doc, indices, method))
        records = [images.save(tmp, i, image, doc["items"][i]["prompt"], None) for i, image in upscaled]
        manifest = {"sampler": "baseline", "method": method, "steps": 0, "guidance": 1.0, "resolution": doc["crop"],
                    "seconds": time.perf_counter() - start, "nfe": {"calls": 0, "batch_multiplier": 1},
                    "images": records, "versions": files.python_info()}  # fmt: skip
        files.write_json(tmp / images.MANIFEST, manifest)  # last: a shard without it is incomplete
    return manifest


def degrade(hr: np.ndarray, scale: int, kind: str, seed: int, index: int) -> np.ndarray:
    """Return the low-resolution input (uint8 HWC, side hr side / scale) of item `index`, degraded as `kind` says."""
    if kind not in DEGRADATIONS:
        raise ValueError(f"degradation: unknown {kind!r}; valid: {', '.join(DEGRADATIONS)}")
    height, width = hr.shape[:2]
    if height % scale or width % scale:
        raise ValueError(f"crop {width}×{height} is not divisible by scale {scale}")
    size = (width // scale, height // scale)
    if kind == "bicubic":
        return np.asarray(Image.fromarray(hr).resize(size, Image.Resampling.BICUBIC))
    return realesrgan(hr, size, np.random.default_rng(index_seed(f"sr-degrade:{seed}", index)))


def realesrgan(hr: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Return `hr` through the two-stage Real-ESRGAN chain, ending at `size` (width, height), with draws from `rng`."""
    x = hr.astype(np.float64) / 255
    for stage in (0, 1):
        if rng.random() < REALESRGAN["blur_prob"][stage]:
            x = _blur(x, _gaussian_kernel(rng, REALESRGAN["blur_sigma"][stage], REALESRGAN["isotropic_prob"][stage]))
        x = _random_resize(x, size if stage else (x.shape[1], x.shape[0]), stage, rng)
        x = _noise(x, stage, rng)
        x = _jpeg(x, int(rng.integers(REALESRGAN["jpeg_range"][stage][0], REALESRGAN["jpeg_range"][stage][1] + 1)))
    x = _resize(x, size, RESIZE_MODES[int(rng.integers(3))])
    x = _jpeg(x, int(rng.integers(REALESRGAN["jpeg_range"][1][0], REALESRGAN["jpeg_range"][1][1] + 1)))
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def _gaussian_kernel(rng: np.random.Generator, sigma_range: tuple[float, float], isotropic_prob: float) -> np.ndarray:
    """Return a normalised Gaussian kernel of a random odd size: isotropic, or anisotropic and rotated."""
    k = int(rng.choice(KERNEL_SIZES))
    sx = rng.uniform(*sigma_range)
    sy, theta = (
        (sx, 0.0) if rng.random() < isotropic_prob else (rng.uniform(*sigma_range), rng.uniform(-math.pi, math.pi))
    )
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    inverse = np.linalg.inv(rotation @ np.diag([sx**2, sy**2]) @ rotation.T)
    grid = np.stack(np.meshgrid(np.arange(k) - k // 2, np.arange(k) - k // 2), -1).astype(np.float64)
    kernel = np.exp(-0.5 * np.einsum("...i,ij,...j->...", grid, inverse, grid))
    return kernel / kernel.sum()


def _blur(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Return x (HWC float) convolved with `kernel` per channel, reflect-padded (cv2.filter2D's default, which
    Real-ESRGAN uses)."""
    import torch

    k = kernel.shape[0]
    t = torch.from_numpy(x).permute(2, 0, 1)[:, None]
    # reflect needs the image wider than the kernel's radius; tiny (toy, test) images take the edge pixels instead
    mode = "reflect" if k // 2 < min(x.shape[:2]) else "replicate"
    t = torch.nn.functional.pad(t, (k // 2,) * 4, mode=mode)
    out = torch.nn.functional.conv2d(t, torch.from_numpy(kernel)[None, None])
    return out[:, 0].permute(1, 2, 0).numpy()


def _resize(x: np.ndarray, size: tuple[int, int], mode) -> np.ndarray:
    """Return x (HWC float in [0, 1]) resized to `size` (width, height) with a PIL filter, per channel in float."""
    channels = [np.asarray(Image.fromarray(x[..., c].astype(np.float32), "F").resize(size, mode)) for c in range(3)]
    return np.stack(channels, -1).astype(np.float64)


def _random_resize(x: np.ndarray, base: tuple[int, int], stage: int, rng: np.random.Generator) -> np.ndarray:
    """Return x resized to `base` (width, height) scaled up, down or kept by a factor drawn as Real-ESRGAN draws it,
    with a random filter. Its first stage scales the image itself, its second the target size (ori_h / scale)."""
    low, high = REALESRGAN["resize_range"][stage]
    direction = rng.choice(3, p=REALESRGAN["resize_prob"][stage])
    factor = (rng.uniform(1, high), rng.uniform(low, 1), 1.0)[direction]
    size = (max(1, round(base[0] * factor)), max(1, round(base[1] * factor)))
    return np.clip(_resize(x, size, RESIZE_MODES[int(rng.integers(3))]), 0, 1)


def _noise(x: np.ndarray, stage: int, rng: np.random.Generator) -> np.ndarray:
    """Return x with Gaussian (σ in /255 units) or Poisson noise, colour or grey, clipped to [0, 1]."""
    gray = rng.random() < REALESRGAN["gray_noise_prob"][stage]
    shape = x.shape[:2] + ((1,) if gray else (3,))
    if rng.random() < REALESRGAN["gaussian_noise_prob"][stage]:
        noise = rng.normal(0, rng.uniform(*REALESRGAN["noise_range"][stage]) / 255, shape)
    else:  # Real-ESRGAN's generate_poisson_noise: counts at 2^ceil(log2(distinct levels)) per unit
        scale = rng.uniform(*REALESRGAN["poisson_scale_range"][stage])
        base = np.round(np.clip(x.mean(-1, keepdims=True) if gray else x, 0, 1) * 255) / 255
        levels = 2 ** math.ceil(math.log2(len(np.unique(base))))
        noise = (rng.poisson(base * levels) / levels - base) * scale
    return np.clip(x + noise, 0, 1)


def _jpeg(x: np.ndarray, quality: int) -> np.ndarray:
    """Return x (HWC float in [0, 1]) after a JPEG round trip at `quality` (PIL's encoder)."""
    buffer = io.BytesIO()
    Image.fromarray(np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)).save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB")).astype(np.float64) / 255
