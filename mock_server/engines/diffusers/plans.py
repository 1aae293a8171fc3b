"""An accepted job turned into what the models need: checked numbers, sizes, decoded images.

Everything a request can get wrong is found here, before any model runs, and reported as an
`EngineInputError` naming the field and the value. Plans with the same `batch_key` can share one
UNet batch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from mock_server.engines.base import EngineInputError, ImageJob
from mock_server.engines.diffusers.imaging import compute_size, fit_within, round_to_grid, to_rgb

__all__ = [
    "MagicMixPlan",
    "MixerPlan",
    "Plan",
    "denoising_calls",
    "image_fields",
    "image_urls",
    "magic_mix_plan",
    "mixer_plan",
    "sample_seeds",
]

MAGIC_MIX_GUIDANCE = 7.5  # the vendor exposes no guidance_scale for magic_mix; the community default
MIXER_GUIDANCE = 7.5
DEFAULT_SIZE = 768
MIXER_SIZE_LIMIT = 1024
MAX_SAMPLES = 8
SEED_MODULUS = 2**63
_URL_LIST = re.compile(r",(?=\s*(?:https?://|data:))", re.IGNORECASE)  # data: URIs contain commas too


def denoising_calls(fraction: float, steps: int) -> int:
    """int(fraction * steps) with the tolerance of `openapi.rules` (0.1 * 10 counts as 1)."""
    return math.floor(fraction * steps + 1e-9)


def sample_seeds(seed: int, samples: int) -> list[int]:
    """One seed per sample, any JSON integer (negative, huge) reduced into torch's range."""
    return [(seed + index) % SEED_MODULUS for index in range(samples)]


@dataclass(frozen=True, kw_only=True)
class _Sampling:
    """What both plans share: sizes, the denoising schedule and one seed per image."""

    size: tuple[int, int]  # what the models work at (multiples of 8)
    output_size: tuple[int, int]  # what the request asked for
    steps: int
    guidance_scale: float
    seeds: tuple[int, ...]

    @property
    def samples(self) -> int:
        return len(self.seeds)


@dataclass(frozen=True, kw_only=True)
class MagicMixPlan(_Sampling):
    prompt: str
    negative_prompt: str
    image: Image.Image  # RGB, already at `size`
    first_step: int  # index into the DDIM timesteps where denoising starts (kmax)
    layout_end: int  # index where the layout phase ends (kmin)
    mix_factor: float

    @property
    def batch_key(self) -> Hashable:
        return ("magic_mix", self.size, self.steps, self.first_step, self.layout_end)


@dataclass(frozen=True, kw_only=True)
class MixerPlan(_Sampling):
    prompt: str
    negative_prompt: str | None
    images: tuple[Image.Image, ...]  # RGB
    weights: tuple[float, ...]

    @property
    def batch_key(self) -> Hashable:
        return ("img_mixer", self.size, self.steps, len(self.images) + 1)


Plan = MagicMixPlan | MixerPlan


def _number(params: Mapping[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EngineInputError(name, f"{name} must be a number, got {value!r}")
    if not low <= value <= high:
        raise EngineInputError(name, f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return float(value)


def _integer(params: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():  # 20.0 is the integer 20, as JSON Schema says
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EngineInputError(name, f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise EngineInputError(name, f"{name} must be between {low} and {high}, got {value!r}")
    return value


def _text(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise EngineInputError(name, f"{name} must be a string, got {value!r}")
    return value


def _common(job: ImageJob) -> tuple[str, int, tuple[int, ...]]:
    prompt = _text(job.params, "prompt")
    if not prompt:
        raise EngineInputError("prompt", f"prompt must be a non-empty string, got {prompt!r}")
    if isinstance(job.samples, bool) or not 1 <= job.samples <= MAX_SAMPLES:
        raise EngineInputError("samples", f"samples must be between 1 and {MAX_SAMPLES}, got {job.samples!r}")
    steps = _integer(job.params, "steps", 20, 1, 1000)
    return prompt, steps, tuple(sample_seeds(job.seed, job.samples))


def _requested_size(name: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not 1 <= value <= 2048):
        raise EngineInputError(name, f"{name} must be between 1 and 2048, got {value!r}")
    return value


def magic_mix_plan(job: ImageJob, image: Image.Image) -> MagicMixPlan:
    prompt, steps, seeds = _common(job)
    kmin = _number(job.params, "kmin", 0.3, 0.0, 1.0)
    kmax = _number(job.params, "kmax", 0.5, 0.0, 1.0)
    calls = denoising_calls(kmax, steps)
    if calls < 1:
        raise EngineInputError(
            "kmax",
            f"kmax={kmax:g} with steps={steps} leaves no denoising step: int(kmax * steps) = 0, "
            "it must be at least 1 (raise kmax or steps)",
        )
    width = _requested_size("width", job.width) or DEFAULT_SIZE
    height = _requested_size("height", job.height) or DEFAULT_SIZE
    size = compute_size(width, height)
    return MagicMixPlan(
        prompt=prompt,
        negative_prompt=_text(job.params, "negative_prompt") or "",
        image=to_rgb(image).resize(size, Image.Resampling.LANCZOS),
        size=size,
        output_size=(width, height),
        steps=steps,
        first_step=steps - calls,
        layout_end=steps - denoising_calls(kmin, steps),
        mix_factor=_number(job.params, "mix_factor", 0.5, 0.0, 1.0),
        guidance_scale=_number(job.params, "guidance_scale", MAGIC_MIX_GUIDANCE, 0.0, 50.0),
        seeds=seeds,
    )


def image_urls(params: Mapping[str, Any]) -> list[str]:
    """img_mixer's `init_image`: an array (v6) or a comma-separated string (the legacy API)."""
    value = params.get("init_image")
    urls = [part.strip() for part in _URL_LIST.split(value)] if isinstance(value, str) else value
    if not isinstance(urls, list) or not urls or not all(isinstance(url, str) and url for url in urls):
        raise EngineInputError("init_image", f"init_image must be a list of image URLs, got {value!r}")
    if len(urls) > 4:
        raise EngineInputError("init_image", f"init_image takes at most 4 images, got {len(urls)}")
    return urls


def _weights(params: Mapping[str, Any], count: int) -> tuple[float, ...]:
    value = params.get("init_image_weights")
    if value is None or value == "":
        return (1.0,) * count
    parts: Sequence[Any] = value.split(",") if isinstance(value, str) else value
    try:
        weights = tuple(float(part) for part in parts)
    except (TypeError, ValueError):
        weights = ()
    if (
        isinstance(value, bool | int | float)
        or len(weights) != count
        or not all(math.isfinite(weight) and 0.0 <= weight <= 5.0 for weight in weights)
    ):
        raise EngineInputError(
            "init_image_weights",
            f"init_image_weights needs {count} numbers between 0 and 5, one per init_image; got {value!r}",
        )
    return weights


def _mixer_size(width: int | None, height: int | None, first: tuple[int, int]) -> tuple[int, int]:
    """The request's size; a missing side follows the first init image (its aspect, capped at 1024)."""
    aspect = first[0] / first[1]
    match (width, height):
        case (int() as given_width, int() as given_height):
            return given_width, given_height
        case (None, int() as given_height):
            return round_to_grid(min(MIXER_SIZE_LIMIT, round(given_height * aspect))), given_height
        case (int() as given_width, None):
            return given_width, round_to_grid(min(MIXER_SIZE_LIMIT, round(given_width / aspect)))
        case _:
            return fit_within(first, MIXER_SIZE_LIMIT)


def mixer_plan(job: ImageJob, images: Sequence[Image.Image]) -> MixerPlan:
    prompt, steps, seeds = _common(job)
    rgb = tuple(to_rgb(image) for image in images)
    width = _requested_size("width", job.width)
    height = _requested_size("height", job.height)
    output_size = _mixer_size(width, height, rgb[0].size)
    return MixerPlan(
        prompt=prompt,
        negative_prompt=_text(job.params, "negative_prompt") or None,
        images=rgb,
        weights=_weights(job.params, len(rgb)),
        size=compute_size(*output_size),
        output_size=output_size,
        steps=steps,
        guidance_scale=_number(job.params, "guidance_scale", MIXER_GUIDANCE, 0.0, 50.0),
        seeds=seeds,
    )


def image_fields(job: ImageJob) -> list[tuple[str, str]]:
    """(field, URL) of each image the job needs, after checking everything that needs no image.

    The numbers are checked by building the plan around a stand-in image, so that a bad kmax is
    reported before any URL is fetched, by the very code that later builds the real plan.
    """
    stand_in = Image.new("RGB", (8, 8))
    if job.product == "magic_mix":
        url = job.params.get("image")
        if not isinstance(url, str) or not url:
            raise EngineInputError("image", f"image must be an image URL, got {url!r}")
        magic_mix_plan(job, stand_in)
        return [("image", url)]
    urls = image_urls(job.params)
    mixer_plan(job, [stand_in] * len(urls))
    return [(f"init_image[{index}]", url) for index, url in enumerate(urls)]
