"""Training loops of the toy family's parts; each returns a record of what it did."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .. import integrity
from . import data, nets

log = logging.getLogger("ldmscale")


def _batches(seed: int, image_size: int, batch: int, start: int = 0):
    """Yield (uint8 NCHW images, labels, captions) batches of fresh items from the training stream."""
    index = start
    while True:
        images, labels, captions = data.dataset(seed, index, batch, image_size)
        index += batch
        yield torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels), captions


def _warmup_cosine(opt: torch.optim.Optimizer, steps: int, warmup_fraction: float):
    """Return a schedule: linear warm-up over `warmup_fraction` of the steps, then cosine decay to 0."""
    warmup = max(1, round(steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _fit(params, steps: int, lr: float, desc: str, loss_fn) -> float:
    """Run `steps` AdamW updates of `loss_fn()` under warm-up + cosine; return the last loss."""
    opt = torch.optim.AdamW(params, lr=lr)
    sched = _warmup_cosine(opt, steps, 0.1)
    for _ in tqdm(range(steps), desc=desc, mininterval=5):
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return loss.item()


def _attribute_loss(logits: list[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
    return sum(F.cross_entropy(head, labels[:, i]) for i, head in enumerate(logits)) / len(logits)


def _accuracy(logits: list[torch.Tensor], labels: torch.Tensor) -> dict[str, float]:
    """Return per-attribute and all-attributes-correct accuracy."""
    correct = torch.stack([head.argmax(1) == labels[:, i] for i, head in enumerate(logits)], 1)
    result = {name: correct[:, i].float().mean().item() for i, name in enumerate(data.ATTRIBUTES)}
    result["all"] = correct.all(1).float().mean().item()
    return result


def train_text_encoder(out: Path, seed: int, steps: int, batch: int, lr: float) -> dict:
    """Train a word-level CLIP text encoder to carry every caption attribute; save tokenizer and encoder under `out`."""
    torch.manual_seed(seed)
    tok = nets.tokenizer()
    encoder = nets.text_encoder(tok)
    heads = torch.nn.ModuleList(torch.nn.Linear(nets.TEXT_HIDDEN, len(v)) for v in data.ATTRIBUTES.values())
    stream = _batches(seed, 8, batch)  # only the captions are used: tiny images are cheap

    def loss_fn():
        _, labels, captions = next(stream)
        ids = tok(captions, padding="max_length", max_length=nets.MAX_TOKENS, return_tensors="pt").input_ids
        return _attribute_loss([h(encoder(ids).pooler_output) for h in heads], labels)

    final_loss = _fit([*encoder.parameters(), *heads.parameters()], steps, lr, "text encoder", loss_fn)
    _, labels, captions = data.dataset(seed + 1, 0, 512, 8)
    with torch.no_grad():
        ids = tok(captions, padding="max_length", max_length=nets.MAX_TOKENS, return_tensors="pt").input_ids
        accuracy = _accuracy([h(encoder(ids).pooler_output) for h in heads], torch.from_numpy(labels))
    tok.save_pretrained(out / "tokenizer")
    encoder.save_pretrained(out / "text_encoder")
    integrity.record_checksums(out)
    log.info("text encoder: held-out attribute accuracy %s", accuracy)
    return {"final_loss": final_loss, "heldout_accuracy": accuracy}


def train_autoencoder(
    out: Path, seed: int, image_size: int, steps: int, batch: int, lr: float, kl_weight: float
) -> dict:
    """Train the toy AutoencoderKL and set its latent scaling factor from data; save it to `out`."""
    torch.manual_seed(seed)
    vae = nets.autoencoder(image_size)
    stream = _batches(seed, image_size, batch)

    def loss_fn():
        images = next(stream)[0].float() / 127.5 - 1
        posterior = vae.encode(images).latent_dist
        recon = vae.decode(posterior.sample()).sample
        return F.mse_loss(recon, images) + kl_weight * posterior.kl().mean()

    final_loss = _fit(vae.parameters(), steps, lr, "autoencoder", loss_fn)
    vae.eval()
    held_out = torch.from_numpy(data.dataset(seed + 1, 0, 512, image_size)[0]).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        latents = vae.encode(held_out).latent_dist.sample(generator=torch.Generator().manual_seed(seed))
        psnr = -10 * math.log10(F.mse_loss(vae.decode(latents).sample.clamp(-1, 1), held_out).item() / 4)
    # The diffusion model wants unit-variance latents; SD's 0.18215 was measured the same way.
    scaling_factor = 1.0 / latents.std().item()
    vae.register_to_config(scaling_factor=scaling_factor)
    vae.save_pretrained(out)
    integrity.record_checksums(out)
    log.info("autoencoder: held-out PSNR %.2f dB, scaling factor %.4f", psnr, scaling_factor)
    return {"final_loss": final_loss, "heldout_psnr_db": psnr, "scaling_factor": scaling_factor}


def train_scorer(out: Path, seed: int, image_size: int, steps: int, batch: int, lr: float) -> dict:
    """Train the attribute classifier used as the toy metric; save it to `out` with its held-out accuracy."""
    torch.manual_seed(seed)
    scorer = nets.Scorer(image_size)
    stream = _batches(seed, image_size, batch)

    def loss_fn():
        images, labels, _ = next(stream)
        return _attribute_loss(scorer(images), labels)

    final_loss = _fit(scorer.parameters(), steps, lr, "scorer", loss_fn)
    scorer.eval()
    images, labels, _ = data.dataset(seed + 1, 0, 1024, image_size)
    with torch.no_grad():
        accuracy = _accuracy(scorer(torch.from_numpy(images).permute(0, 3, 1, 2)), torch.from_numpy(labels))
    record = {"final_loss": final_loss, "heldout_accuracy": accuracy, "data_version": data.DATA_VERSION}
    nets.save_scorer(scorer, out, {"training": record})
    integrity.record_checksums(out)
    log.info("scorer: held-out accuracy %s", accuracy)
    return record


def encode_training_set(vae, text_encoder, tok, seed: int, count: int, image_size: int):
    """Return latent means/stds of `count` training images and the text embeddings of their captions."""
    images, _, captions = data.dataset(seed, 0, count, image_size)
    means, stds = [], []
    with torch.no_grad():
        for i in range(0, count, 256):
            x = torch.from_numpy(images[i : i + 256]).permute(0, 3, 1, 2).float() / 127.5 - 1
            dist = vae.encode(x).latent_dist
            means.append(dist.mean)
            stds.append(dist.std)
        unique = sorted(set(captions)) + [""]
        ids = tok(unique, padding="max_length", max_length=nets.MAX_TOKENS, return_tensors="pt").input_ids
        table = text_encoder(ids).last_hidden_state
    row = {c: i for i, c in enumerate(unique)}
    caption_rows = torch.tensor([row[c] for c in captions])
    return torch.cat(means), torch.cat(stds), table, caption_rows


def count_unet_flops(unet_config: dict, batch: int, tokens: int, backward: bool) -> int:
    """Return FLOPs of one UNet pass at `batch` (forward, and backward when `backward`), counted on the meta device.

    A UNet with `time_cond_proj_dim` (a distilled student) is given its guidance embedding, as in training, and one
    with class embeddings (a toy SR member) its noise level.
    """
    from diffusers import UNet2DConditionModel
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(unet_config)
        size = unet_config["sample_size"]
        x = torch.randn(batch, unet_config["in_channels"], size, size)
        t = torch.zeros(batch, dtype=torch.long)
        context = torch.randn(batch, tokens, unet_config["cross_attention_dim"])
        cond_dim = unet_config.get("time_cond_proj_dim")
        cond = torch.randn(batch, cond_dim) if cond_dim else None
        labels = (
            torch.zeros(batch, dtype=torch.long) if unet_config.get("num_class_embeds") else None
        )  # SR: noise level
        with FlopCounterMode(display=False) as counter:
            out = unet(x, t, context, timestep_cond=cond, class_labels=labels).sample
            if backward:
                out.square().mean().backward()
    return counter.get_total_flops()


def count_train_step_flops(unet_config: dict, batch: int, tokens: int) -> int:
    """Return FLOPs of one UNet training step (forward + backward) at `batch`, counted on the meta device."""
    return count_unet_flops(unet_config, batch, tokens, backward=True)


def loss_summary(losses: list[float]) -> dict[str, float]:
    """Return the mean loss over the first and the last tenth of a training run."""
    window = max(1, len(losses) // 10)
    return {"loss_first": float(np.mean(losses[:window])), "loss_last": float(np.mean(losses[-window:]))}


def load_parts(vae_dir: Path, text_dir: Path):
    """Return the trained (vae, text encoder, tokenizer) of the toy family, in eval mode."""
    from diffusers import AutoencoderKL
    from transformers import CLIPTextModel, PreTrainedTokenizerFast

    vae = AutoencoderKL.from_pretrained(vae_dir).eval()
    text_encoder = CLIPTextModel.from_pretrained(text_dir / "text_encoder").eval()
    return vae, text_encoder, PreTrainedTokenizerFast.from_pretrained(text_dir / "tokenizer")


def latent_batch(means, stds, caption_rows, scaling_factor: float, batch: int, gen: torch.Generator):
    """Return (scaled latents, caption rows) of `batch` training items drawn with `gen`; latents sampled from q(z|x)."""
    idx = torch.randint(0, len(means), (batch,), generator=gen)
    latents = (means[idx] + stds[idx] * torch.randn(means[idx].shape, generator=gen)) * scaling_factor
    return latents, caption_rows[idx].clone()


def fit_unet(unet, config: dict, recipe: dict, out: Path, desc: str, loss_fn, start: float) -> dict:
    """Train `unet` for recipe steps of `loss_fn()` with the family's optimiser (AdamW, warm-up then cosine, EMA
    weights); save the EMA weights to `out`; return the training record (wall time from `start`)."""
    from diffusers.training_utils import EMAModel

    ema = EMAModel(unet.parameters(), decay=recipe["ema_decay"], use_ema_warmup=True, power=2 / 3)
    opt = torch.optim.AdamW(unet.parameters(), lr=recipe["lr"], weight_decay=0.0)
    sched = _warmup_cosine(opt, recipe["steps"], 0.05)
    losses = []
    for step in tqdm(range(recipe["steps"]), desc=desc, mininterval=10):
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        ema.step(unet.parameters())
        losses.append(loss.item())
        if step % 100 == 0:
            log.info("step %d loss %.4f", step, float(np.mean(losses[-100:])))
    wall = time.perf_counter() - start
    ema.copy_to(unet.parameters())
    unet.save_pretrained(out)
    integrity.record_checksums(out)
    step_flops = count_train_step_flops(config, recipe["batch"], nets.MAX_TOKENS)
    return {
        "params": sum(p.numel() for p in unet.parameters()),
        "recipe": recipe,
        "train_flops": step_flops * recipe["steps"],
        "train_step_flops": step_flops,
        "train_flops_note": "UNet forward+backward per step, counted on the meta device, times steps; "
        "the one-off encoding of the training set is excluded",
        "wall_time_s": wall,
        **loss_summary(losses),
    }


def train_unet(out: Path, width: int, vae_dir: Path, text_dir: Path, recipe: dict) -> dict:
    """Train one family member with the shared recipe; save its UNet to `out` and return the training record."""
    from diffusers import DDPMScheduler, UNet2DConditionModel

    seed = recipe["seed"]
    torch.manual_seed(seed)
    vae, text_encoder, tok = load_parts(vae_dir, text_dir)
    image_size = vae.config.sample_size
    config = nets.unet_config(width, nets.latent_size(vae.config))
    unet = UNet2DConditionModel.from_config(config)
    scheduler = DDPMScheduler.from_config(nets.noise_schedule())

    start = time.perf_counter()
    means, stds, table, caption_rows = encode_training_set(
        vae, text_encoder, tok, seed, recipe["train_images"], image_size
    )
    empty_row = table.shape[0] - 1
    gen = torch.Generator().manual_seed(seed)

    def loss_fn():
        latents, rows = latent_batch(means, stds, caption_rows, vae.config.scaling_factor, recipe["batch"], gen)
        rows[torch.rand(len(rows), generator=gen) < recipe["caption_dropout"]] = empty_row
        noise = torch.randn(latents.shape, generator=gen)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (len(rows),), generator=gen)
        pred = unet(scheduler.add_noise(latents, noise, t), t, table[rows]).sample
        return F.mse_loss(pred, noise)

    return {"width": width, **fit_unet(unet, config, recipe, out, f"unet c={width}", loss_fn, start)}
