"""Output URLs must download images (PNG or JPEG, decoded with Pillow) of the requested size and count."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from PIL import Image, UnidentifiedImageError

from conformance.checks import Reply
from conformance.client import AuditClient
from conformance.findings import Finding

__all__ = ["check_outputs"]

_FORMATS = {"PNG", "JPEG"}


def _expected_size(body: Any) -> tuple[int, int] | None:
    if not isinstance(body, Mapping):
        return None
    width, height = body.get("width"), body.get("height")
    if isinstance(width, int) and isinstance(height, int):
        return width, height
    return None


def _expected_count(reply: Reply) -> int:
    samples = reply.body.get("samples") if isinstance(reply.body, Mapping) else None
    if isinstance(samples, int) and not isinstance(samples, bool):
        return samples
    default = reply.operation.property_schemas.get("samples", {}).get("default", 1)
    return int(default)


def _one(client: AuditClient, reply: Reply, url: str, size: tuple[int, int] | None) -> list[Finding]:
    exchange = client.get(url)
    if exchange.error or exchange.status_code != 200:
        got = exchange.error or f"HTTP {exchange.status_code}"
        return [reply.finding("reply.output", "URLs download", f"{url} got {got}")]
    try:
        with Image.open(io.BytesIO(exchange.content)) as image:
            image.load()
            image_format, image_size = image.format, image.size
    except (UnidentifiedImageError, OSError) as error:
        return [
            reply.finding("reply.output", "URLs are PNG or JPEG images", f"{url} does not decode: {error}")
        ]
    found: list[Finding] = []
    if image_format not in _FORMATS:
        found.append(reply.finding("reply.output", "URLs are PNG or JPEG images", f"{url} is {image_format}"))
    if size is not None and image_size != size:
        found.append(
            reply.finding(
                "reply.output",
                "images have the requested size",
                f"expected {size[0]}x{size[1]}, got {image_size[0]}x{image_size[1]}",
            )
        )
    return found


def check_outputs(client: AuditClient, reply: Reply, output: list[Any]) -> list[Finding]:
    """Downloads every output URL of a finished job and checks count, format and size."""
    found: list[Finding] = []
    expected = _expected_count(reply)
    if len(output) != expected:
        found.append(
            reply.finding("reply.output", "one URL per sample", f"expected {expected}, got {len(output)}")
        )
    size = _expected_size(reply.body)
    for url in output:
        if isinstance(url, str):
            found.extend(_one(client, reply, url, size))
    return found
