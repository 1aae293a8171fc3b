"""Tiny random models, built once per session, and an engine on the CPU that serves them."""

from __future__ import annotations

import asyncio
import base64
import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

pytest.importorskip("torch", reason="the reference engine needs torch (pip install '.[reference]')")
pytest.importorskip("diffusers", reason="the reference engine needs diffusers (pip install '.[reference]')")
pytest.importorskip("transformers", reason="the reference engine needs transformers (the reference extra)")

from mock_server.engines.base import ImageJob
from mock_server.engines.diffusers import DiffusersEngine
from mock_server.engines.diffusers.tiny import init_tiny_models
from openapi.vocabulary import Product


def data_uri(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def picture(size: tuple[int, int] = (48, 40), mode: str = "RGB", seed: int = 0) -> Image.Image:
    """A deterministic, structured test picture in any PIL mode."""
    noise = Image.frombytes("L", size, random.Random(seed).randbytes(size[0] * size[1]))
    gradient = Image.linear_gradient("L").resize(size)
    rgb = Image.merge("RGB", (noise, gradient, gradient.rotate(90)))
    return rgb.convert(mode)


def _job(product: Product, body: dict[str, Any], samples: int, seed: int) -> ImageJob:
    """The job for a request body; 32 by 32 unless the body says (None: the engine decides)."""
    width: int | None = body.pop("width", 32)
    height: int | None = body.pop("height", 32)
    return ImageJob(product, body, width, height, samples, seed)


def magic_mix_job(samples: int = 1, seed: int = 42, **params: Any) -> ImageJob:
    body = {"prompt": "Bed", "image": data_uri(picture()), "kmin": 0.3, "kmax": 0.5, "steps": 8}
    return _job("magic_mix", body | params, samples, seed)


def mixer_job(images: int = 2, samples: int = 1, seed: int = 7, **params: Any) -> ImageJob:
    init_images = [data_uri(picture(seed=index)) for index in range(images)]
    body = {"prompt": "rose man", "init_image": init_images, "steps": 6, "guidance_scale": 10}
    return _job("img_mixer", body | params, samples, seed)


def max_pixel_difference(first: bytes, second: bytes) -> int:
    """The largest per-channel difference (0..255) between two PNGs of the same size."""
    left, right = Image.open(io.BytesIO(first)), Image.open(io.BytesIO(second))
    assert left.size == right.size
    difference = ImageChops.difference(left.convert("RGB"), right.convert("RGB"))
    extrema: tuple[tuple[int, int], ...] = difference.getextrema()  # type: ignore[assignment]
    return max(high for _, high in extrema)


def render(engine: DiffusersEngine, job: ImageJob) -> list[bytes]:
    return asyncio.run(engine.render(job))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_tiny_models(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def engine(tiny_models: Path) -> Iterator[DiffusersEngine]:
    created = DiffusersEngine.create(tiny_models, device="cpu", dtype="auto")
    yield created
    asyncio.run(created.aclose())
