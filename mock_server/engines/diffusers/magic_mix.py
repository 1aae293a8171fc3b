"""MagicMix (Liew et al. 2022) on SD-1.x with DDIM: layout from an image, content from a prompt.

1. The layout image's latent is noised to the kmax level; only int(kmax * steps) UNet calls run.
2. Layout phase (kmax down to kmin): the state is mixed with the layout latent noised to the same
   level, by `mix_factor`. "community" mixing (what the vendor runs: the diffusers community pipeline)
   feeds the blend to the UNet but steps the unmixed state; "paper" mixing makes the blend the state.
3. Content phase (below kmin): plain guided denoising with the prompt.
The negative prompt is the unconditional text; guidance is 7.5 unless the request sends guidance_scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from mock_server.engines.diffusers.denoising import (
    Checkpoint,
    decode_plans,
    encode_layout,
    encode_prompts,
    gaussian,
    generators,
    guided_noise,
    never_stop,
    per_sample,
)
from mock_server.engines.diffusers.imaging import to_pixels
from mock_server.engines.diffusers.loading import MagicMixModels, scheduler_for
from mock_server.engines.diffusers.plans import MagicMixPlan

__all__ = ["Mixing", "run_magic_mix"]

Mixing = Literal["community", "paper"]


def _repeat(rows: torch.Tensor, plans: Sequence[MagicMixPlan]) -> torch.Tensor:
    """Row i of `rows` (one per plan) repeated for each of that plan's samples."""
    counts = torch.tensor([plan.samples for plan in plans], device=rows.device)
    return rows.repeat_interleave(counts, dim=0)


def run_magic_mix(
    models: MagicMixModels,
    plans: Sequence[MagicMixPlan],
    mixing: Mixing,
    checkpoint: Checkpoint = never_stop,
) -> list[list[bytes]]:
    """PNGs for each plan; the plans share one batch_key, so their samples share one UNet batch.

    `checkpoint` runs before every UNet call; what it raises abandons the batch (engine shutdown).
    """
    first = plans[0]
    device = models.unet.device
    # 1. Per plan (so a plan's numbers do not depend on its batch mates): texts, layout latents, noise.
    encoder, tokenizer = models.text_encoder, models.tokenizer
    texts = [encode_prompts(tokenizer, encoder, (plan.negative_prompt, plan.prompt)) for plan in plans]
    uncond = _repeat(torch.cat([text[:1] for text in texts]), plans)
    cond = _repeat(torch.cat([text[1:] for text in texts]), plans)
    layouts, noises = [], []
    for plan in plans:
        sources = generators(plan.seeds)
        layouts.append(encode_layout(models.vae, to_pixels(plan.image, plan.size), sources))
        noises.append(gaussian(sources, layouts[-1].shape[1:], device))
    layout, noise = torch.cat(layouts), torch.cat(noises)
    mix = per_sample([p.mix_factor for p in plans for _ in p.seeds], device)
    guidance = per_sample([p.guidance_scale for p in plans for _ in p.seeds], device)

    # 2. Start from the layout noised to the kmax level.
    scheduler = scheduler_for(models.scheduler_config)
    scheduler.set_timesteps(first.steps)
    timesteps = scheduler.timesteps
    latents = scheduler.add_noise(layout, noise, timesteps[first.first_step].reshape(1))

    # 3. Layout phase, then content phase.
    for index in range(first.first_step, first.steps):
        timestep = timesteps[index]
        checkpoint()
        in_layout = index < first.layout_end
        model_input = latents
        if mixing == "community" and in_layout and index > first.first_step:
            noised_layout = scheduler.add_noise(layout, noise, timestep.reshape(1))
            model_input = mix * latents + (1 - mix) * noised_layout
        prediction = guided_noise(models.unet, model_input, timestep, uncond, cond, guidance)
        latents = scheduler.step(prediction, timestep, latents).prev_sample
        if mixing == "paper" and in_layout:
            following = index + 1
            level = layout
            if following < first.steps:
                level = scheduler.add_noise(layout, noise, timesteps[following].reshape(1))
            latents = mix * latents + (1 - mix) * level

    # 4. Decode per plan, at the size each request asked for.
    return decode_plans(models.vae, latents, plans)
