"""Image Mixer (Lambda Labs style) on an SD-1 UNet conditioned on a sequence of projected CLIP tokens.

1. One token per init image: the CLIP ViT image embedding (visual projection) times its weight.
2. One token for the prompt: the CLIP text embedding (text projection, pooled).
3. Unconditional: zeros in every slot, except the prompt slot, which holds the negative prompt's
   embedding when the request has one.
4. DDIM from seeded noise with classifier-free guidance = guidance_scale; the VAE decodes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image

from mock_server.engines.diffusers.denoising import (
    Checkpoint,
    decode_plans,
    gaussian,
    generators,
    guided_noise,
    never_stop,
    per_sample,
)
from mock_server.engines.diffusers.loading import ClipPreprocess, MixerModels, scheduler_for
from mock_server.engines.diffusers.plans import MixerPlan

__all__ = ["clip_pixels", "mixer_tokens", "run_image_mixer"]

LATENT_CHANNELS = 4


def clip_pixels(images: Sequence[Image.Image], preprocess: ClipPreprocess) -> torch.Tensor:
    """(N, 3, h, w) normalised CLIP input: shortest side to `size` (bicubic), centre crop."""
    rows = []
    crop_height, crop_width = preprocess.crop
    for image in images:
        scale = preprocess.size / min(image.size)
        resized = image.resize(
            (max(crop_width, round(image.width * scale)), max(crop_height, round(image.height * scale))),
            Image.Resampling.BICUBIC,
        )
        left, top = (resized.width - crop_width) // 2, (resized.height - crop_height) // 2
        cropped = resized.crop((left, top, left + crop_width, top + crop_height))
        data = torch.frombuffer(bytearray(cropped.tobytes()), dtype=torch.uint8)
        rows.append(data.view(crop_height, crop_width, 3).permute(2, 0, 1).float() / 255)
    mean = torch.tensor(preprocess.mean).view(1, 3, 1, 1)
    std = torch.tensor(preprocess.std).view(1, 3, 1, 1)
    return (torch.stack(rows) - mean) / std


def _text_token(models: MixerModels, text: str) -> torch.Tensor:
    tokens = models.tokenizer(
        [text],
        padding="max_length",
        max_length=models.tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    )
    embeds: torch.Tensor = models.text_encoder(tokens.input_ids.to(models.text_encoder.device)).text_embeds
    return embeds.float()


def mixer_tokens(models: MixerModels, plan: MixerPlan) -> tuple[torch.Tensor, torch.Tensor]:
    """(uncond, cond), each (1, N + 1, D): N weighted image tokens and the prompt token."""
    encoder = models.image_encoder
    pixels = clip_pixels(plan.images, models.preprocess).to(encoder.device, encoder.dtype)
    weights = torch.tensor(plan.weights, device=encoder.device).view(-1, 1)
    images = encoder(pixel_values=pixels).image_embeds.float() * weights
    cond = torch.cat([images, _text_token(models, plan.prompt)]).unsqueeze(0)
    uncond = torch.zeros_like(cond)
    if plan.negative_prompt is not None:
        uncond[0, -1] = _text_token(models, plan.negative_prompt)[0]
    return uncond, cond


def run_image_mixer(
    models: MixerModels, plans: Sequence[MixerPlan], checkpoint: Checkpoint = never_stop
) -> list[list[bytes]]:
    """PNGs for each plan; the plans share one batch_key, so their samples share one UNet batch.

    `checkpoint` runs before every UNet call; what it raises abandons the batch (engine shutdown).
    """
    first = plans[0]
    device = models.unet.device
    # 1. Per plan: conditioning tokens, one row per sample, and seeded starting noise.
    pairs = [mixer_tokens(models, plan) for plan in plans]
    counts = [plan.samples for plan in plans]
    uncond = torch.cat([pair[0].expand(count, -1, -1) for pair, count in zip(pairs, counts, strict=True)])
    cond = torch.cat([pair[1].expand(count, -1, -1) for pair, count in zip(pairs, counts, strict=True)])
    width, height = first.size
    factor = 2 ** (len(models.vae.config.block_out_channels) - 1)
    shape = (LATENT_CHANNELS, height // factor, width // factor)
    scheduler = scheduler_for(models.scheduler_config)
    scheduler.set_timesteps(first.steps)
    latents = torch.cat([gaussian(generators(plan.seeds), shape, device) for plan in plans])
    latents = latents * scheduler.init_noise_sigma
    guidance = per_sample([p.guidance_scale for p in plans for _ in p.seeds], device)

    # 2. DDIM with classifier-free guidance.
    for timestep in scheduler.timesteps:
        checkpoint()
        prediction = guided_noise(models.unet, latents, timestep, uncond, cond, guidance)
        latents = scheduler.step(prediction, timestep, latents).prev_sample

    # 3. Decode per plan.
    return decode_plans(models.vae, latents, plans)
