"""Output URLs must download images (PNG or JPEG) of the requested size and count.

The format and the size are read from the bytes (the PNG signature and IHDR, the JPEG SOF marker),
never from the file name or the Content-Type, and before anything is decoded: an image larger than
the request allows is reported without being decompressed, so a 20000 x 20000 "bomb" costs nothing.
Within the cap, Pillow decodes the image to prove it is whole.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, UnidentifiedImageError

from conformance.checks import Reply
from conformance.client import AuditClient, Exchange
from conformance.findings import Finding

__all__ = ["DECODE_LIMIT", "Download", "check_outputs", "expected_count", "expected_size", "sniff"]

DECODE_LIMIT = 4096 * 4096  # pixels decoded at most; the specs allow 1024 x 1024
_PNG = b"\x89PNG\r\n\x1a\n"
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


@dataclass(frozen=True)
class Download:
    """One output URL: what came back (the exchange) and, for a readable image, its bytes."""

    url: str
    exchange: Exchange
    findings: list[Finding]
    content: bytes = b""  # the image bytes, when they are a readable PNG or JPEG


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    position = 2
    while position + 9 < len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker in {0xD8, 0x01} or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        position += 2 + length
    return None


def sniff(data: bytes) -> tuple[str, tuple[int, int] | None]:
    """("PNG" | "JPEG" | what the bytes look like, (width, height) from the header when it is readable)."""
    if data.startswith(_PNG) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return "PNG", (width, height)
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG", _jpeg_size(data)
    for signature, name in ((b"RIFF", "WEBP"), (b"GIF8", "GIF"), (b"<", "HTML or XML"), (b"{", "JSON")):
        if data.lstrip()[: len(signature)] == signature:
            return name, None
    return "unknown bytes", None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        return None
    return int(value)


def expected_size(reply: Reply) -> tuple[int | None, int | None]:
    """(width, height) the request asks for: as sent, else the operation's documented default."""
    body = reply.body if isinstance(reply.body, Mapping) else {}
    defaults = reply.operation.defaults
    width = body["width"] if "width" in body else defaults.get("width")
    height = body["height"] if "height" in body else defaults.get("height")
    return _as_int(width), _as_int(height)


def expected_count(reply: Reply) -> int:
    samples = reply.body.get("samples") if isinstance(reply.body, Mapping) else None
    count = _as_int(samples)
    if count is not None:
        return count
    return int(reply.operation.defaults.get("samples", 1))


def _size_finding(reply: Reply, url: str, size: tuple[int, int]) -> list[Finding]:
    want_w, want_h = expected_size(reply)
    got_w, got_h = size
    if (want_w is None or want_w == got_w) and (want_h is None or want_h == got_h):
        return []
    shown = f"{want_w if want_w is not None else '?'}x{want_h if want_h is not None else '?'}"
    transposed = (want_w, want_h) == (got_h, got_w) and want_w != want_h
    outcome = f"expected {shown}, got {got_w}x{got_h}" + (" (transposed)" if transposed else "")
    return [reply.finding("reply.output", "images have the requested size", f"{url}: {outcome}")]


def _decodes(data: bytes) -> str:
    """ "" when Pillow decodes the whole image, else why not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombWarning,
    ) as error:
        return str(error) or type(error).__name__
    return ""


def download(client: AuditClient, reply: Reply, url: str) -> Download:
    """Fetches one output URL and judges format, size and integrity from its bytes."""
    exchange = client.get(url)
    poll = Reply(reply.operation, reply.tier, reply.sent, reply.body, exchange)
    if exchange.skipped:
        return Download(url, exchange, [])
    if exchange.error or exchange.status_code != 200:
        got = exchange.error or f"HTTP {exchange.status_code}"
        return Download(url, exchange, [poll.finding("reply.output", "URLs download", f"{url}: {got}")])
    kind, size = sniff(exchange.content)
    if kind not in {"PNG", "JPEG"}:
        outcome = f"{url}: {kind} (served as {exchange.content_type or 'no type'})"
        return Download(url, exchange, [poll.finding("reply.output", "URLs are PNG or JPEG images", outcome)])
    if size is None:
        outcome = f"{url}: a {kind} without a readable size"
        return Download(url, exchange, [poll.finding("reply.output", "URLs are PNG or JPEG images", outcome)])
    found = _size_finding(poll, url, size)
    if size[0] * size[1] > DECODE_LIMIT:
        outcome = f"{url}: {size[0]}x{size[1]} is over {DECODE_LIMIT} pixels, not decoded"
        return Download(
            url, exchange, [*found, poll.finding("reply.output", "URLs are whole images", outcome)]
        )
    problem = _decodes(exchange.content)
    if problem:
        found.append(poll.finding("reply.output", "URLs are whole images", f"{url}: {problem}"))
        return Download(url, exchange, found)
    return Download(url, exchange, found, exchange.content)


def check_outputs(
    client: AuditClient, reply: Reply, output: list[Any]
) -> tuple[list[Finding], list[Download]]:
    """Downloads every output URL of a finished job and checks count, format and size."""
    found: list[Finding] = []
    expected = expected_count(reply)
    if len(output) != expected:
        found.append(
            reply.finding("reply.output", "one URL per sample", f"expected {expected}, got {len(output)}")
        )
    downloads = [download(client, reply, url) for url in output if isinstance(url, str)]
    for item in downloads:
        found.extend(item.findings)
    return found, downloads
