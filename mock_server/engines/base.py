"""The contract between the mock's generate stage and an image engine.

The server owns routes, validation, jobs, fetch and webhooks; an engine only turns one accepted
request into PNG bytes. A lazy engine (the synthetic one) is asked for pixels when an output URL is
downloaded; an eager engine (diffusers) is asked when the job is accepted and its bytes are stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from openapi.vocabulary import Product

__all__ = ["Engine", "EngineInputError", "ImageJob"]


@dataclass(frozen=True)
class ImageJob:
    """One accepted request, with defaults filled in and the random seed already drawn."""

    product: Product
    params: Mapping[str, Any]  # the request body as validated, spec defaults applied, without `key`
    width: int | None  # None: img_mixer without width, the engine decides (the first init image's)
    height: int | None
    samples: int
    seed: int


class EngineInputError(Exception):
    """The request is in contract but the engine cannot use it (an image URL that does not load...).

    The message names the field and the value; the server turns it into the vendor's error reply.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@runtime_checkable
class Engine(Protocol):
    name: str
    lazy: bool

    def estimate_seconds(self, job: ImageJob) -> float:
        """An honest guess of the time `render` takes for this job once it starts."""
        ...

    async def render(self, job: ImageJob) -> list[bytes]:
        """PNG bytes, one per sample, of the requested size; raises EngineInputError for bad inputs."""
        ...

    async def aclose(self) -> None:
        """Release workers and devices."""
        ...
