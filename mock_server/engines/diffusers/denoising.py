"""The pieces both algorithms share: seeded noise, prompt encoding, the guided UNet call, the VAE."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from mock_server.engines.diffusers.imaging import from_pixels, png_bytes
from mock_server.engines.diffusers.loading import Module
from mock_server.engines.diffusers.plans import Plan

__all__ = [
    "Checkpoint",
    "decode",
    "encode_layout",
    "encode_prompts",
    "gaussian",
    "generators",
    "guided_noise",
    "never_stop",
    "per_sample",
]

Checkpoint = Callable[[], None]  # called before each UNet call; raises to abandon the batch


def never_stop() -> None:
    """The default checkpoint: the batch always runs to its end."""


def generators(seeds: Sequence[int]) -> list[torch.Generator]:
    """One CPU generator per sample: the same seed draws the same numbers on any device and in any batch."""
    return [torch.Generator("cpu").manual_seed(seed) for seed in seeds]


def gaussian(sources: Sequence[torch.Generator], shape: Sequence[int], device: torch.device) -> torch.Tensor:
    """(len(sources), *shape) standard normal float32 values, one row drawn from each generator."""
    rows = [torch.randn(tuple(shape), generator=source, dtype=torch.float32) for source in sources]
    return torch.stack(rows).to(device)


def per_sample(values: Sequence[float], device: torch.device) -> torch.Tensor:
    """A (B, 1, 1, 1) tensor that scales a batch of latents sample by sample."""
    return torch.tensor(values, dtype=torch.float32, device=device).view(-1, 1, 1, 1)


def encode_prompts(tokenizer: Module, text_encoder: Module, prompts: Sequence[str]) -> torch.Tensor:
    """(len(prompts), 77, D) CLIP hidden states, as SD-1.x conditions its UNet."""
    tokens = tokenizer(
        list(prompts),
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    )
    hidden: torch.Tensor = text_encoder(tokens.input_ids.to(text_encoder.device)).last_hidden_state
    return hidden


def guided_noise(
    unet: Module,
    latents: torch.Tensor,
    timestep: torch.Tensor,
    uncond: torch.Tensor,
    cond: torch.Tensor,
    guidance: torch.Tensor,
) -> torch.Tensor:
    """Classifier-free guided noise prediction (float32) for a batch, both halves in one UNet call."""
    model_input = torch.cat([latents, latents]).to(unet.dtype)
    context = torch.cat([uncond, cond]).to(unet.dtype)
    prediction: torch.Tensor = unet(model_input, timestep, encoder_hidden_states=context).sample
    unconditional, conditional = prediction.float().chunk(2)
    return unconditional + guidance * (conditional - unconditional)


def encode_layout(vae: Module, pixels: torch.Tensor, sources: Sequence[torch.Generator]) -> torch.Tensor:
    """One latent per generator of the (1, 3, H, W) image: the VAE posterior sampled with that generator."""
    posterior = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist
    eps = gaussian(sources, posterior.mean.shape[1:], vae.device)
    latents = posterior.mean.float() + posterior.std.float() * eps
    scaled: torch.Tensor = latents * float(vae.config.scaling_factor)
    return scaled


def decode(vae: Module, latents: torch.Tensor) -> torch.Tensor:
    """Pixels in [-1, 1] of a batch of latents."""
    scaled = (latents / float(vae.config.scaling_factor)).to(vae.dtype)
    pixels: torch.Tensor = vae.decode(scaled).sample
    return pixels


def decode_plans(vae: Module, latents: torch.Tensor, plans: Sequence[Plan]) -> list[list[bytes]]:
    """PNGs per plan: each plan's rows of the batch decoded, at the size its request asked for."""
    outputs, start = [], 0
    for plan in plans:
        images = from_pixels(decode(vae, latents[start : start + plan.samples]))
        outputs.append([png_bytes(image, plan.output_size) for image in images])
        start += plan.samples
    return outputs
