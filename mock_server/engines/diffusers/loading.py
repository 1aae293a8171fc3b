"""Loading the engine's models from a local model directory, offline; one loader for tiny and real weights.

Layout of `--model-dir` (diffusers / transformers `save_pretrained` folders)::

    DIR/magic_mix/   unet/ vae/ text_encoder/ (CLIPTextModel) tokenizer/ scheduler/
                     -- a full SD-1.x pipeline folder works as is (its other folders are ignored)
    DIR/img_mixer/   unet/ vae/ image_encoder/ (CLIPVisionModelWithProjection)
                     text_encoder/ (CLIPTextModelWithProjection) tokenizer/ feature_extractor/ scheduler/

Either operation may be absent; at least one must be present. Nothing is ever fetched from a hub.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from transformers import (
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    CLIPVisionModelWithProjection,
)

__all__ = [
    "IMG_MIXER_DIR",
    "MAGIC_MIX_DIR",
    "ClipPreprocess",
    "LoadedModels",
    "MagicMixModels",
    "MixerModels",
    "ModelLayoutError",
    "Module",
    "load_models",
    "scheduler_for",
]

MAGIC_MIX_DIR = "magic_mix"
IMG_MIXER_DIR = "img_mixer"
MAGIC_MIX_PARTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
IMG_MIXER_PARTS = ("unet", "vae", "image_encoder", "text_encoder", "tokenizer", "scheduler")


class ModelLayoutError(ValueError):
    """The model directory does not have the documented layout; the message names the path."""


@dataclass(frozen=True)
class ClipPreprocess:
    """CLIP's image preprocessing (shortest side to `size`, centre crop, normalise), from its config."""

    size: int = 224
    crop: tuple[int, int] = (224, 224)  # height, width
    mean: tuple[float, float, float] = (0.48145466, 0.4578275, 0.40821073)
    std: tuple[float, float, float] = (0.26862954, 0.26130258, 0.27577711)

    @classmethod
    def from_folder(cls, folder: Path) -> ClipPreprocess:
        config_path = folder / "preprocessor_config.json"
        if not config_path.is_file():
            return cls()
        config: dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
        size = config.get("size", 224)
        crop = config.get("crop_size", 224)
        return cls(
            size=int(size.get("shortest_edge", 224)) if isinstance(size, dict) else int(size),
            crop=(int(crop["height"]), int(crop["width"])) if isinstance(crop, dict) else (int(crop),) * 2,
            mean=tuple(config.get("image_mean", cls.mean)),
            std=tuple(config.get("image_std", cls.std)),
        )


# diffusers' and transformers' classes are only partly typed: the engine holds their models as `Module`.
Module = Any


@dataclass
class MagicMixModels:
    unet: Module  # UNet2DConditionModel
    vae: Module  # AutoencoderKL
    text_encoder: Module  # CLIPTextModel
    tokenizer: Module  # CLIPTokenizer
    scheduler_config: dict[str, Any]


@dataclass
class MixerModels:
    unet: Module  # UNet2DConditionModel
    vae: Module  # AutoencoderKL
    image_encoder: Module  # CLIPVisionModelWithProjection
    text_encoder: Module  # CLIPTextModelWithProjection
    tokenizer: Module  # CLIPTokenizer
    preprocess: ClipPreprocess
    scheduler_config: dict[str, Any]


@dataclass
class LoadedModels:
    magic_mix: MagicMixModels | None
    img_mixer: MixerModels | None
    device: torch.device
    dtype: torch.dtype


def scheduler_for(config: dict[str, Any]) -> Module:
    """A fresh DDIM scheduler on the folder's noise schedule (MagicMix's indexing is only right for DDIM).

    clip_sample and set_alpha_to_one are forced off, as SD-1.x needs, whatever scheduler the folder names.
    """
    ddim: Module = DDIMScheduler
    return ddim.from_config(config, clip_sample=False, set_alpha_to_one=False)


def _check_parts(folder: Path, parts: tuple[str, ...]) -> None:
    missing = [part for part in parts if not (folder / part).is_dir()]
    if missing:
        raise ModelLayoutError(f"{folder} lacks {', '.join(missing)}/ (expected {', '.join(parts)}/)")


def _load(kind: Any, folder: Path, device: torch.device, dtype: torch.dtype) -> Any:
    module = kind.from_pretrained(folder, local_files_only=True, dtype=dtype)
    return module.to(device=device).eval().requires_grad_(False)


def _load_magic_mix(folder: Path, device: torch.device, dtype: torch.dtype) -> MagicMixModels:
    _check_parts(folder, MAGIC_MIX_PARTS)
    return MagicMixModels(
        unet=_load(UNet2DConditionModel, folder / "unet", device, dtype),
        vae=_load(AutoencoderKL, folder / "vae", device, dtype),
        text_encoder=_load(CLIPTextModel, folder / "text_encoder", device, dtype),
        tokenizer=CLIPTokenizer.from_pretrained(folder / "tokenizer", local_files_only=True),
        scheduler_config=dict(DDIMScheduler.load_config(folder / "scheduler", local_files_only=True)),
    )


def _load_mixer(folder: Path, device: torch.device, dtype: torch.dtype) -> MixerModels:
    _check_parts(folder, IMG_MIXER_PARTS)
    models = MixerModels(
        unet=_load(UNet2DConditionModel, folder / "unet", device, dtype),
        vae=_load(AutoencoderKL, folder / "vae", device, dtype),
        image_encoder=_load(CLIPVisionModelWithProjection, folder / "image_encoder", device, dtype),
        text_encoder=_load(CLIPTextModelWithProjection, folder / "text_encoder", device, dtype),
        tokenizer=CLIPTokenizer.from_pretrained(folder / "tokenizer", local_files_only=True),
        preprocess=ClipPreprocess.from_folder(folder / "feature_extractor"),
        scheduler_config=dict(DDIMScheduler.load_config(folder / "scheduler", local_files_only=True)),
    )
    widths = {
        "unet cross_attention_dim": models.unet.config.cross_attention_dim,
        "image_encoder projection_dim": models.image_encoder.config.projection_dim,
        "text_encoder projection_dim": models.text_encoder.config.projection_dim,
    }
    if len(set(widths.values())) != 1:
        raise ModelLayoutError(f"{folder}: the token widths must agree, got {widths}")
    return models


def load_models(model_dir: Path, device: torch.device, dtype: torch.dtype) -> LoadedModels:
    """Every operation whose folder exists under `model_dir`, on `device` in `dtype`."""
    # Belt and braces: every path is local and every call says local_files_only; no hub, ever.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if not model_dir.is_dir():
        raise ModelLayoutError(f"model directory {model_dir} does not exist")
    magic_mix_folder, mixer_folder = model_dir / MAGIC_MIX_DIR, model_dir / IMG_MIXER_DIR
    if not magic_mix_folder.is_dir() and not mixer_folder.is_dir():
        raise ModelLayoutError(
            f"{model_dir} has neither {MAGIC_MIX_DIR}/ nor {IMG_MIXER_DIR}/ "
            "(create tiny ones with `mixmock models init-tiny DIR`)"
        )
    return LoadedModels(
        magic_mix=_load_magic_mix(magic_mix_folder, device, dtype) if magic_mix_folder.is_dir() else None,
        img_mixer=_load_mixer(mixer_folder, device, dtype) if mixer_folder.is_dir() else None,
        device=device,
        dtype=dtype,
    )
