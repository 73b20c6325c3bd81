"""Feature extractors of the metrics, loaded from local safetensors files only, and the cached features they make:
of one configuration's generated images (`generated_features`) and of a task's real images (`reference_features`).

Inception (FID, KID) is torch-fidelity's port of the TF 2015-12-05 graph, through torchmetrics;
CLIP (CLIP score, CMMD) is any open_clip model; `toy` is the toy family's scorer (attr_acc,
fd_toy, kid_toy): its features and its predicted attributes. Extractor keys name everything that changes the
features (extractor, its resize mode) and appear in the paths of cached features (`paths.extractor_key`).
"""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from . import files, images, integrity, paired, paths, sr

# resize mode → torchmetrics' `antialias`: tf1 is torch-fidelity's reference behaviour (TF1-style
# bilinear without antialiasing, as the original FID code); antialias is torchmetrics' default.
INCEPTION_RESIZE = {"tf1": False, "antialias": True}
INCEPTION_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
)


def load_inception(weights: str | Path, resize: str) -> torch.nn.Module:
    """Return torchmetrics' Inception feature extractor (2048-d pool features) with weights from a safetensors file."""
    from torchmetrics.image.fid import NoTrainInceptionV3

    if resize not in INCEPTION_RESIZE:
        raise ValueError(f"unknown Inception resize mode {resize!r}; valid: {', '.join(INCEPTION_RESIZE)}")
    # torch-fidelity's constructor torch.load()s whatever it is given (pickle): hand it bytes
    # serialised here from the safetensors tensors, never a file from elsewhere.
    buffer = io.BytesIO()
    torch.save(load_file(str(weights)), buffer)
    buffer.seek(0)
    return NoTrainInceptionV3("inception-v3-compat", ["2048"], buffer, antialias=INCEPTION_RESIZE[resize])


def load_clip(model_name: str, pretrained: str | Path, model_config: str | Path | None = None):
    """Return (model, image preprocess, tokenizer) of an open_clip model with weights from a local file.

    `model_config` registers an open_clip model config JSON (its file stem is the model name)
    for architectures outside open_clip's registry.
    """
    import open_clip

    if model_config:
        open_clip.add_model_config(model_config)
    model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=str(pretrained))
    return model.eval(), preprocess, open_clip.get_tokenizer(model_name)


@torch.no_grad()
def inception_features(model: torch.nn.Module, batches: Iterable[np.ndarray], device: str = "cpu") -> np.ndarray:
    """Return (n, 2048) float32 features of uint8 NHWC image batches."""
    model.to(device)
    out = [model(torch.from_numpy(b).permute(0, 3, 1, 2).to(device)).cpu().numpy() for b in batches]
    return np.concatenate(out)


@torch.no_grad()
def clip_image_features(model, preprocess, batches: Iterable[np.ndarray], device: str = "cpu") -> np.ndarray:
    """Return unit-norm CLIP image embeddings (n, d) of uint8 NHWC image batches, preprocessed as the model's own."""
    from PIL import Image

    model.to(device)
    out = []
    for batch in batches:
        x = torch.stack([preprocess(Image.fromarray(image)) for image in batch]).to(device)
        out.append(torch.nn.functional.normalize(model.encode_image(x).float(), dim=-1).cpu().numpy())
    return np.concatenate(out)


@torch.no_grad()
def clip_text_features(model, tokenizer, prompts: list[str], batch: int = 256, device: str = "cpu") -> np.ndarray:
    """Return unit-norm CLIP text embeddings (n, d) of `prompts`."""
    model.to(device)
    out = []
    for i in range(0, len(prompts), batch):
        emb = model.encode_text(tokenizer(prompts[i : i + batch]).to(device)).float()
        out.append(torch.nn.functional.normalize(emb, dim=-1).cpu().numpy())
    return np.concatenate(out)


@torch.no_grad()
def scorer_outputs(scorer, images: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Return the toy scorer's features (n, d) float32 and predicted class per attribute (n, n_attributes) of uint8 NHWC images."""
    feats, preds = [], []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch])).permute(0, 3, 1, 2)
        f = scorer.features(x)
        feats.append(f.numpy())
        preds.append(torch.stack([h(f).argmax(1) for h in scorer.heads], 1).numpy())
    return np.concatenate(feats), np.concatenate(preds)


def toy_features(scorer_dir: str | Path, batches: Iterable[np.ndarray]) -> dict:
    """Return {"images": features, "predictions": predicted attributes} of image batches from the toy scorer."""
    from .toy import nets

    scorer = nets.load_scorer(scorer_dir)
    feats, preds = zip(*(scorer_outputs(scorer, b) for b in batches))
    return {"images": np.concatenate(feats), "predictions": np.concatenate(preds)}


def extract(kind: str, options: dict, batches: Iterable[np.ndarray], prompts: list[str] | None, device: str) -> dict:
    """Return {"images": (n, d)} features of image batches (CLIP: and {"texts": …} of `prompts`; toy: and predictions)."""
    if kind == "toy":
        return toy_features(options["toy"]["scorer"], batches)
    weights = paths.extractor_weights(kind, options)
    if kind == "inception":
        model = load_inception(weights, options["inception"]["resize"])
        return {"images": inception_features(model, batches, device)}
    clip = options["clip"]
    model, preprocess, tokenizer = load_clip(clip["model"], weights, clip["model_config"])
    out = {"images": clip_image_features(model, preprocess, batches, device)}
    if prompts is not None:
        out["texts"] = clip_text_features(model, tokenizer, prompts, device=device)
    return out


def save(path: str | Path, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write feature arrays and string metadata (extractor, weights SHA-256, indices) as safetensors, atomically."""
    with files.atomic_path(path) as tmp:
        save_file(
            {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}, str(tmp), metadata=metadata
        )


def load(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Return the arrays and metadata of a features file written by `save` (see scoring.load_features)."""
    from .scoring import load_features

    return load_features(path)


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
    if prompt_doc.get("kind") == "super_resolution":  # its real images are its crops, at their own size
        n = len(prompt_doc["items"])
        arrays = extract(kind, options, sr.truth_batches(prompt_doc, range(n), options["batch_size"]), None, device)
        return arrays, _metadata(kind, options, n)
    ref = prompt_doc.get("reference")
    if not ref:
        raise ValueError("the task has no reference images (tasks.<task>.reference.images)")
    paths = [str(Path(ref["images"]) / name) for name in ref["files"]]
    for path, digest in zip(paths, ref["sha256"]):
        if integrity.sha256(path) != digest:
            raise ValueError(f"{path}: changed since the task was prepared; rerun prepare_task")
    arrays = extract(kind, options, images.image_batches(paths, image_size, options["batch_size"]), None, device)
    return arrays, _metadata(kind, options, len(paths))


def _toy_reference(prompt_doc: dict, options: dict, image_size: int, count: int) -> tuple[dict, dict]:
    n = len(prompt_doc["items"])
    reference, _ = images.real_toy_images(prompt_doc, 0, count, image_size)
    held_out, held_out_labels = images.real_toy_images(prompt_doc, count, n, image_size)
    arrays = extract("toy", options, [reference], None, "cpu")
    floor = extract("toy", options, [held_out], None, "cpu")
    arrays = {
        **arrays,
        "held_out": floor["images"],
        "held_out_predictions": floor["predictions"],
        "held_out_labels": held_out_labels,
    }
    return arrays, _metadata("toy", options, count)


def generated_features(
    shard_dirs: list[str], prompt_doc: dict, kind: str, options: dict, device: str, count: int | None = None
) -> tuple[dict, dict]:
    """Return the features of a configuration's images in index order (CLIP: and of their prompts), with metadata.

    The shards hold the task's first `count` images (None: all of them, one per prompt).
    """
    records = _checked_records(shard_dirs, prompt_doc, count)
    if kind in paths.PAIRED_EXTRACTORS:
        return paired_features(kind, options, records, prompt_doc, device), _metadata(kind, options, len(records))
    batches = images.image_batches([r["path"] for r in records], None, options["batch_size"])
    arrays = extract(kind, options, batches, [r["prompt"] for r in records], device)
    return arrays, _metadata(kind, options, len(records))


def paired_features(kind: str, options: dict, records: list[dict], prompt_doc: dict, device: str) -> dict:
    """Return per-image values of each output against its ground truth: {"psnr", "ssim"} (pairs) or {"lpips"}."""
    if prompt_doc.get("kind") != "super_resolution":
        raise ValueError(f"{kind} compares outputs with their ground truths; this task has none")
    outputs = images.image_batches([r["path"] for r in records], None, options["batch_size"])
    truths = sr.truth_batches(prompt_doc, [r["index"] for r in records], options["batch_size"])
    if kind == "lpips":
        module = paired.load_lpips(options["lpips"]["weights"], options["lpips"]["net"]).to(device)
        return {"lpips": np.concatenate([paired.lpips(module, x, y) for x, y in zip(outputs, truths)])}
    values = [(paired.psnr(x, y), paired.ssim(x, y)) for x, y in zip(outputs, truths)]
    return {"psnr": np.concatenate([v[0] for v in values]), "ssim": np.concatenate([v[1] for v in values])}


def _metadata(kind: str, options: dict, n: int) -> dict:
    weights = paths.extractor_weights(kind, options)
    if weights and Path(weights).is_dir():  # the toy scorer's directory: its weights file
        weights = Path(weights) / "model.safetensors"
    return {
        "extractor": paths.extractor_key(kind, options),
        "weights_sha256": integrity.sha256(weights) if weights else "none",
        "n": str(n),
    }


def _checked_records(shard_dirs: list[str], prompt_doc: dict, count: int | None = None) -> list[dict]:
    """Return the manifest records of all shards in index order, checked to be the task's first `count` images (None:
    all of them) and generated from its prompts."""
    records = images.shard_records(shard_dirs)
    items = {item["index"]: item for item in prompt_doc["items"]}
    indices = [r["index"] for r in records]
    if indices != sorted(items)[:count]:
        expected = count or len(items)
        raise ValueError(
            f"shards hold {len(indices)} images {indices[:3]}… but the task expects images 0 to {expected - 1} (of its "
            f"{len(items)} prompts); rerun generate"
        )
    for record in records:
        if record["prompt"] != items[record["index"]]["prompt"]:
            raise ValueError(f"{record['path']}: generated from another prompt than the task's; rerun generate")
    return records


def convert_inception(pth: str | Path, out: str | Path) -> str:
    """Convert torch-fidelity's Inception .pth (a state_dict) to safetensors once; return the output's SHA-256.

    The .pth is read with torch.load(weights_only=True), which refuses anything but tensors; a file
    named like the release (…-<8 hex>.pth) must match that SHA-256 prefix, as torch.hub checks it.
    """
    prefix = re.search(r"-([0-9a-f]{8,})\.pth$", Path(pth).name)
    if prefix and not integrity.sha256(pth).startswith(prefix[1]):
        raise ValueError(f"{pth}: SHA-256 does not start with {prefix[1]} as its name says; the download is corrupt")
    state = torch.load(pth, map_location="cpu", weights_only=True)
    with files.atomic_path(out) as tmp:
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp))
    load_inception(out, "tf1")  # every tensor of the architecture present, shapes right
    return integrity.sha256(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ldmscale.features",
        description=f"Convert torch-fidelity's Inception weights ({INCEPTION_URL}) to safetensors.",
    )
    parser.add_argument("pth", help="the downloaded weights-inception-2015-12-05-6726825d.pth")
    parser.add_argument(
        "out", help="the .safetensors file to write (config: metrics.inception.feature_extractor_weights_path)"
    )
    args = parser.parse_args(argv)
    print(f"{convert_inception(args.pth, args.out)}  {args.out}")


if __name__ == "__main__":
    main()
