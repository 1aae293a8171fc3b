"""The default engine: deterministic, seed-dependent pictures made in milliseconds, no model, no GPU.

Each image is a two-colour gradient with a few shapes, all drawn from a generator seeded by the
request's seed, its image-relevant fields and the sample index: the same request and seed give the
same bytes, another seed gives another picture.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import random
from collections.abc import Mapping
from typing import Any

from PIL import Image, ImageDraw

from mock_server.engines.base import ImageJob
from openapi.vocabulary import UNSIZED_DEFAULT

__all__ = ["SyntheticEngine", "render_png"]

_NOT_PICTURE = {"key", "webhook", "track_id"}


def _generator(job: ImageJob, index: int) -> random.Random:
    picture: Mapping[str, Any] = {k: v for k, v in job.params.items() if k not in _NOT_PICTURE}
    text = json.dumps([job.product, job.seed, index, picture], sort_keys=True, default=str)
    return random.Random(hashlib.sha256(text.encode()).digest())


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randrange(256), rng.randrange(256), rng.randrange(256)


def render_png(job: ImageJob, index: int) -> bytes:
    """One sample as PNG bytes, `job.width` x `job.height` (512 x 512 when the job leaves them open)."""
    width, height = job.width or UNSIZED_DEFAULT, job.height or UNSIZED_DEFAULT
    rng = _generator(job, index)
    start, end = _colour(rng), _colour(rng)
    mask = Image.linear_gradient("L").rotate(rng.uniform(0, 360), resample=Image.Resampling.BILINEAR)
    mask = mask.resize((width, height), Image.Resampling.BILINEAR)
    image = Image.composite(
        Image.new("RGB", (width, height), end), Image.new("RGB", (width, height), start), mask
    )
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 6)):
        x0, x1 = sorted((rng.randint(0, width), rng.randint(0, width)))
        y0, y1 = sorted((rng.randint(0, height), rng.randint(0, height)))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=_colour(rng))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


class SyntheticEngine:
    name = "synthetic"
    lazy = True

    def estimate_seconds(self, job: ImageJob) -> float:
        return 0.05 * job.samples

    async def render(self, job: ImageJob) -> list[bytes]:
        return await asyncio.to_thread(lambda: [render_png(job, index) for index in range(job.samples)])

    async def aclose(self) -> None:
        return None
