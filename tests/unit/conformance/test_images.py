from __future__ import annotations

import io

import pytest
from PIL import Image

from conformance.checks import Reply
from conformance.client import Exchange
from conformance.images import expected_count, expected_size, sniff
from openapi.operations import load_operations

pytestmark = pytest.mark.unit
OPS = {operation.operation_id: operation for operation in load_operations()}


def _encoded(kind: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size).save(buffer, format=kind)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_encoded("PNG", (800, 600)), ("PNG", (800, 600))),
        (_encoded("JPEG", (640, 480)), ("JPEG", (640, 480))),
        (_encoded("WEBP", (10, 10)), ("WEBP", None)),
        (b"<html>not an image</html>", ("HTML or XML", None)),
        (b"", ("unknown bytes", None)),
    ],
    ids=["png", "jpeg", "webp", "html", "empty"],
)
def test_format_and_size_come_from_the_bytes(
    data: bytes, expected: tuple[str, tuple[int, int] | None]
) -> None:
    assert sniff(data) == expected


def _reply(operation: str, body: dict[str, object]) -> Reply:
    return Reply(OPS[operation], "ranges", "x", body, Exchange("POST", "u"))


def test_the_expected_size_is_the_request_or_the_documented_default() -> None:
    assert expected_size(_reply("magic_mix_v5", {"prompt": "p"})) == (768, 768)
    assert expected_size(_reply("magic_mix_v5", {"width": 880.0, "height": 600})) == (880, 600)
    assert expected_size(_reply("img_mixer", {"prompt": "p"})) == (None, None)  # the pages give no default
    assert expected_count(_reply("magic_mix_v5", {"samples": 4})) == 4
    assert expected_count(_reply("magic_mix_v5", {})) == 1
