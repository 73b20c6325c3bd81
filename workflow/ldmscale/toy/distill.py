"""Latent consistency distillation of a toy member into a few-step student.

The method of diffusers' examples/consistency_distillation/train_lcm_distill_sd_wds.py, on the toy data:
the student is the teacher's UNet plus a guidance-scale embedding (`time_cond_proj_dim`). Each step takes a
noisy latent at a DDIM-solver timestep t (50 solver steps, every 20th training timestep), runs the frozen
teacher with classifier-free guidance at a random scale w and one DDIM step to t - 20, and pulls the
student's consistency output at t towards the EMA target network's at t - 20. The boundary scalings and
the guidance embedding are the LCM scheduler's and the pipeline's own, so that what is trained is what
the `lcm` sampler runs.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .. import integrity
from . import nets, train

log = logging.getLogger("ldmscale")

# The DDIM solver's steps: LCMScheduler's `original_inference_steps` default, which the `lcm` sampler uses,
# so that its timesteps are exactly the solver's.
SOLVER_STEPS = 50


def guidance_embedding(w: torch.Tensor, dim: int) -> torch.Tensor:
    """Return the embedding of guidance weights `w` (= guidance scale − 1) that the diffusers pipelines feed the UNet."""
    from diffusers import StableDiffusionPipeline

    # An instance method that reads nothing from the instance: called unbound, it is the pipelines' own formula.
    return StableDiffusionPipeline.get_guidance_scale_embedding(None, w, embedding_dim=dim)


def student_config(teacher_config: dict, embedding_dim: int) -> dict:
    """Return the student UNet's config: the teacher's, with the guidance-scale embedding added."""
    return {**teacher_config, "time_cond_proj_dim": embedding_dim}


def step_flops(teacher_config: dict, embedding_dim: int, batch: int, tokens: int) -> dict[str, int]:
    """Return the FLOPs of one distillation step's UNet passes, counted on the meta device.

    The teacher runs forward on the doubled (conditional + unconditional) batch, the student forward and
    backward, and the target forward.
    """
    student = student_config(teacher_config, embedding_dim)
    return {
        "teacher": train.count_unet_flops(teacher_config, 2 * batch, tokens, backward=False),
        "student": train.count_unet_flops(student, batch, tokens, backward=True),
        "target": train.count_unet_flops(student, batch, tokens, backward=False),
    }


def _constant_with_warmup(opt: torch.optim.Optimizer, warmup: int):
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / max(1, warmup)))


def _per_image(values: torch.Tensor) -> torch.Tensor:
    return values.view(-1, 1, 1, 1)


class Solver:
    """The distillation's schedule: DDIM steps between solver timesteps, and the consistency function's output."""

    def __init__(self, schedule: dict):
        from diffusers import DDPMScheduler, LCMScheduler

        self.noise = DDPMScheduler.from_config(schedule)
        self.boundary = LCMScheduler.from_config(schedule).get_scalings_for_boundary_condition_discrete
        self.alpha_bar = self.noise.alphas_cumprod
        self.skip = self.noise.config.num_train_timesteps // SOLVER_STEPS
        self.timesteps = torch.arange(1, SOLVER_STEPS + 1) * self.skip - 1  # 19, 39, ..., 999
        self.alpha_bar_prev = torch.cat([self.alpha_bar[:1], self.alpha_bar[self.timesteps[:-1]]])

    def x0(self, eps: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Return the clean latent that noise prediction `eps` implies for x at timesteps t."""
        a = _per_image(self.alpha_bar[t])
        return (x - (1 - a).sqrt() * eps) / a.sqrt()

    def ddim_step(self, eps: torch.Tensor, index: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Return x one deterministic DDIM step on, from solver timestep `index` to the one before it."""
        prev = _per_image(self.alpha_bar_prev[index])
        return prev.sqrt() * self.x0(eps, self.timesteps[index], x) + (1 - prev).sqrt() * eps

    def consistency(self, eps: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Return the consistency function's output at t: c_skip·x + c_out·x0, as LCMScheduler.step denoises."""
        c_skip, c_out = (_per_image(c) for c in self.boundary(t))
        return c_skip * x + c_out * self.x0(eps, t, x)


def distill_unet(out: Path, teacher_dir: Path, vae_dir: Path, text_dir: Path, recipe: dict) -> dict:
    """Distil the toy UNet in `teacher_dir` with `recipe`; save the student UNet to `out` and return the record."""
    from diffusers import UNet2DConditionModel

    seed = recipe["seed"]
    torch.manual_seed(seed)
    vae, text_encoder, tok = train.load_parts(vae_dir, text_dir)
    teacher = UNet2DConditionModel.from_pretrained(teacher_dir, dtype=torch.float32).eval().requires_grad_(False)
    config = student_config(dict(teacher.config), recipe["embedding_dim"])
    student = UNet2DConditionModel.from_config(config)
    missing, unexpected = student.load_state_dict(teacher.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("time_embedding.cond_proj") for k in missing), (missing, unexpected)
    target = copy.deepcopy(student).requires_grad_(False)
    student.train()
    solver = Solver(nets.noise_schedule())

    start = time.perf_counter()
    means, stds, table, caption_rows = train.encode_training_set(
        vae, text_encoder, tok, seed, recipe["train_images"], vae.config.sample_size
    )
    empty = table[-1:]
    opt = torch.optim.AdamW(student.parameters(), lr=recipe["lr"], weight_decay=1e-2)
    sched = _constant_with_warmup(opt, round(recipe["steps"] * recipe["warmup_fraction"]))
    gen = torch.Generator().manual_seed(seed)
    batch, losses = recipe["batch"], []
    for step in tqdm(range(recipe["steps"]), desc=f"distil c={teacher.config.block_out_channels[0]}", mininterval=10):
        latents, rows = train.latent_batch(means, stds, caption_rows, vae.config.scaling_factor, batch, gen)
        context = table[rows]
        index = torch.randint(0, SOLVER_STEPS, (batch,), generator=gen)
        t_start = solver.timesteps[index]
        t_end = (t_start - solver.skip).clamp(min=0)
        x = solver.noise.add_noise(latents, torch.randn(latents.shape, generator=gen), t_start)
        w = recipe["w_min"] + (recipe["w_max"] - recipe["w_min"]) * torch.rand(batch, generator=gen)
        w_embedding = guidance_embedding(w, recipe["embedding_dim"])

        prediction = solver.consistency(student(x, t_start, context, timestep_cond=w_embedding).sample, t_start, x)
        with torch.no_grad():
            eps_cond, eps_uncond = teacher(
                torch.cat([x, x]), torch.cat([t_start, t_start]), torch.cat([context, empty.expand_as(context)])
            ).sample.chunk(2)
            eps = eps_cond + _per_image(w) * (eps_cond - eps_uncond)  # the LCM paper's guidance form
            x_prev = solver.ddim_step(eps, index, x)
            eps_target = target(x_prev, t_end, context, timestep_cond=w_embedding).sample
            goal = solver.consistency(eps_target, t_end, x_prev)
        loss = F.mse_loss(prediction, goal)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        sched.step()
        with torch.no_grad():
            for p_target, p in zip(target.parameters(), student.parameters()):
                p_target.lerp_(p, 1 - recipe["ema_decay"])
        losses.append(loss.item())
        if step % 100 == 0:
            log.info("step %d loss %.5f", step, float(np.mean(losses[-100:])))
    wall = time.perf_counter() - start
    student.eval().save_pretrained(out)
    integrity.record_checksums(out)
    flops = step_flops(dict(teacher.config), recipe["embedding_dim"], batch, nets.MAX_TOKENS)
    return {
        "width": teacher.config.block_out_channels[0],
        "params": sum(p.numel() for p in student.parameters()),
        "recipe": recipe,
        "distill_flops": sum(flops.values()) * recipe["steps"],
        "distill_step_flops": flops,
        "distill_flops_note": "per step: teacher forward on the doubled batch, student forward+backward, target "
        "forward; counted on the meta device, times steps; the one-off encoding of the training set is excluded",
        "wall_time_s": wall,
        **train.loss_summary(losses),
    }
