"""Engines for tests: an eager one that renders when the test says so, and a lazy one that counts."""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from mock_server.engines.base import ImageJob
from mock_server.engines.synthetic import SyntheticEngine

__all__ = ["CountingEngine", "EagerEngine", "png_of"]


def png_of(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


class EagerEngine:
    """An eager engine: `render` waits until the test opens `gate` (or forever), then makes the size asked."""

    name = "fake-eager"
    lazy = False

    def __init__(self) -> None:
        self.rendered: list[int] = []  # the seeds of the jobs rendered, in order
        self.gate = asyncio.Event()

    def estimate_seconds(self, job: ImageJob) -> float:
        return 1.0

    async def render(self, job: ImageJob) -> list[bytes]:
        await self.gate.wait()
        self.rendered.append(job.seed)
        return [png_of(job.width or 8, job.height or 8)] * job.samples

    async def aclose(self) -> None:
        return None


class CountingEngine(SyntheticEngine):
    """The synthetic engine, counting its renders; each render yields to the loop before it draws."""

    def __init__(self) -> None:
        self.renders = 0

    async def render(self, job: ImageJob) -> list[bytes]:
        self.renders += 1
        await asyncio.sleep(0.01)
        return await super().render(job)
