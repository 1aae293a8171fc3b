"""Tiny random-weight models in the engine's model-directory layout: the whole engine on a CPU in seconds.

Built the way diffusers' own tests build theirs (small configs, seeded), saved with `save_pretrained`
and loaded back through the engine's ordinary loader. The tokenizer is built in memory (byte-level
vocabulary, no merges), so nothing is downloaded. The images they make are noise-like, but they are
the real algorithms' output: reproducible per seed and sensitive to every parameter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)

from mock_server.engines.diffusers.loading import IMG_MIXER_DIR, MAGIC_MIX_DIR, Module

__all__ = ["TOKEN_WIDTH", "init_tiny_models", "tiny_tokenizer"]

TOKEN_WIDTH = 32  # the UNet's cross-attention width = the CLIP hidden / projection width
# The CLIP text and vision towers' common shape: as wide as the UNet's cross-attention, two layers.
_TOWER: dict[str, Any] = {
    "hidden_size": TOKEN_WIDTH,
    "projection_dim": TOKEN_WIDTH,  # used by the *WithProjection models only
    "intermediate_size": 37,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
}
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def _byte_alphabet() -> list[str]:
    """The 256 printable characters byte-level BPE uses for bytes (as in GPT-2 and CLIP)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    extra = iter(range(256, 512))
    return [chr(byte) if byte in printable else chr(next(extra)) for byte in range(256)]


def tiny_tokenizer() -> CLIPTokenizer:
    """A CLIP tokenizer with one token per byte (514 entries), padded to 77 like SD-1's."""
    alphabet = _byte_alphabet()
    tokens = [*alphabet, *(char + "</w>" for char in alphabet), BOS, EOS]
    vocab = {token: index for index, token in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _text_config(vocab_size: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=vocab_size,
        max_position_embeddings=77,
        bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1,
        **_TOWER,
    )


def _unet() -> Module:
    # Attention (self over the latent's pixels, cross to the prompt) only at 1/4 of the latent's side
    # and with one head: its cost grows with the square of the pixel count, and the audit sends
    # 1024-pixel requests. At 768x768 a CFG call takes tens of milliseconds on two CPU cores.
    unet: Module = UNet2DConditionModel
    return unet(
        block_out_channels=(32, 32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
        attention_head_dim=1,  # diffusers' name for the number of heads
        norm_num_groups=8,  # at a 32-pixel input the lowest level is 1x1: groups of 2 values amplify rounding
        cross_attention_dim=TOKEN_WIDTH,
    )


def _vae() -> Module:
    # Four blocks: three downsamplings, so the latent is 1/8 of the image as with SD's VAE.
    vae: Module = AutoencoderKL
    return vae(
        block_out_channels=(8, 16, 16, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        latent_channels=4,
        norm_num_groups=8,
        layers_per_block=1,
        mid_block_add_attention=False,  # self-attention over every latent pixel: quadratic at 1024 px
    )


def _scheduler() -> Module:
    scheduler: Module = DDIMScheduler
    return scheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )


def _save_denoiser(folder: Path, seed: int) -> None:
    """The UNet, VAE and scheduler both pipelines share, seeded from `seed` and `seed + 1`."""
    torch.manual_seed(seed)
    _unet().save_pretrained(folder / "unet")
    torch.manual_seed(seed + 1)
    _vae().save_pretrained(folder / "vae")
    _scheduler().save_pretrained(folder / "scheduler")


def _save_magic_mix(folder: Path) -> None:
    tokenizer = tiny_tokenizer()
    _save_denoiser(folder, 0)
    torch.manual_seed(2)
    CLIPTextModel(_text_config(len(tokenizer))).save_pretrained(folder / "text_encoder")
    tokenizer.save_pretrained(folder / "tokenizer")


def _save_mixer(folder: Path) -> None:
    tokenizer = tiny_tokenizer()
    _save_denoiser(folder, 10)
    torch.manual_seed(12)
    vision = CLIPVisionConfig(image_size=32, patch_size=4, **_TOWER)
    CLIPVisionModelWithProjection(vision).save_pretrained(folder / "image_encoder")
    torch.manual_seed(13)
    CLIPTextModelWithProjection(_text_config(len(tokenizer))).save_pretrained(folder / "text_encoder")
    tokenizer.save_pretrained(folder / "tokenizer")
    preprocessing = {"size": {"shortest_edge": 32}, "crop_size": {"height": 32, "width": 32}}
    (folder / "feature_extractor").mkdir(parents=True, exist_ok=True)
    config_path = folder / "feature_extractor" / "preprocessor_config.json"
    config_path.write_text(json.dumps(preprocessing), encoding="utf-8")


def init_tiny_models(directory: Path) -> Path:
    """Write tiny seeded random models for both operations under `directory`; returns `directory`."""
    with torch.random.fork_rng(devices=[]):
        _save_magic_mix(directory / MAGIC_MIX_DIR)
        _save_mixer(directory / IMG_MIXER_DIR)
    return directory
