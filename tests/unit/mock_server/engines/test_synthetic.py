"""The synthetic engine: requested size, deterministic per seed and request, fast."""

from __future__ import annotations

import asyncio
import io
import time

import pytest
from PIL import Image

from mock_server.engines.base import Engine, ImageJob
from mock_server.engines.synthetic import SyntheticEngine, render_png

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


def _job(seed: int = 1, width: int | None = 64, height: int | None = 48, **params: object) -> ImageJob:
    return ImageJob("img_mixer", {"prompt": "rose", **params}, width, height, 2, seed)


@pytest.mark.parametrize(("width", "height"), [(1, 1), (64, 48), (1024, 8), (None, None)])
def test_size(width: int | None, height: int | None) -> None:
    image = Image.open(io.BytesIO(render_png(_job(width=width, height=height), 0)))
    assert image.size == (width or 512, height or 512)
    assert image.format == "PNG"


def test_deterministic_and_seed_dependent() -> None:
    assert render_png(_job(), 0) == render_png(_job(), 0)
    assert render_png(_job(), 0) != render_png(_job(seed=2), 0)
    assert render_png(_job(), 0) != render_png(_job(), 1)
    assert render_png(_job(), 0) != render_png(_job(prompt="tulip"), 0)


def test_webhook_and_track_id_do_not_change_the_picture() -> None:
    assert render_png(_job(), 0) == render_png(_job(webhook="https://h.test/", track_id=3), 0)


def test_engine_contract_and_speed() -> None:
    engine = SyntheticEngine()
    assert isinstance(engine, Engine)
    started = time.perf_counter()
    images = asyncio.run(engine.render(_job(width=1024, height=1024)))
    assert len(images) == 2
    assert time.perf_counter() - started < 2.0
