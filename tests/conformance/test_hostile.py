"""Hostile targets: a finding or exit 2 with a clear message; never a hang, a traceback or gigabytes.

Each target runs on loopback. Every exchange has one total deadline (`http_timeout`, 2 s here) and a size
cap; images are judged from their header before anything is decoded; JSON depth is bounded; downloads
never leave the audited origin.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conformance import AuditResult
from conformance.cli import main
from mock_server.tooling.testing import running_server
from tests.conformance.conftest import audit
from tests.conformance.hostile import KEY, Hostile, dripping_server, gzip_bomb, huge_png

pytestmark = [pytest.mark.conformance, pytest.mark.timeout(120)]

MEMORY_CAP = 200 * 1024 * 1024  # bytes the audit may hold at its peak (a 32 MiB body is its largest)


class _Counter:
    def __init__(self) -> None:
        self.hits = 0

    def app(self) -> Starlette:
        async def anything(request: Request) -> Response:
            self.hits += 1
            return Response(b"", media_type="image/png")

        return Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[tuple[_Counter, str]]:
    """Another origin (127.0.0.2): the audit must never download from it."""
    counter = _Counter()
    with running_server(counter.app(), host="127.0.0.2") as url:
        yield counter, url


def _audit_with_peak(url: str) -> tuple[AuditResult, int]:
    huge_png(), gzip_bomb()  # built before tracing: the server's own memory is not the audit's
    tracemalloc.start()
    try:
        result = audit(url, key=KEY, tiers=("smoke",), operations=("img_mixer",), http_timeout=2.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.mark.parametrize(
    ("kind", "key", "says"),
    [
        ("drip_image", "img_mixer reply.output: URLs download", "no complete reply within 2 s"),
        ("endless_image", "img_mixer reply.output: URLs download", "larger than 32 MiB (cut off)"),
        (
            "huge_png",
            "img_mixer reply.output: images have the requested size",
            "expected 800x600, got 20000x20000",
        ),
        ("huge_png", "img_mixer reply.output: URLs are whole images", "is over 16777216 pixels, not decoded"),
        ("gzip_bomb", "img_mixer reply.output: URLs download", "larger than 32 MiB once decoded (cut off)"),
        (
            "redirect_off_origin",
            "img_mixer reply.output: URLs download",
            "outside the audited origin (not followed)",
        ),
        ("deep_json", "img_mixer reply: a JSON body", "nested deeper than 64 levels"),
    ],
)
def test_a_hostile_target_makes_a_finding_in_bounded_memory(
    kind: str, key: str, says: str, elsewhere: tuple[_Counter, str]
) -> None:
    counter, other_origin = elsewhere
    hostile = Hostile(kind, other_origin=other_origin)
    with running_server(hostile.app()) as url:
        result, peak = _audit_with_peak(url)
    found = {finding.key: finding for finding in result.findings}
    assert key in found, sorted(found)
    assert says in found[key].outcome
    assert peak < MEMORY_CAP, f"the audit held {peak / 2**20:.0f} MiB"
    assert counter.hits == 0
    assert not result.incomplete


def test_a_target_that_drips_every_reply_exits_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    with dripping_server(interval=10.0) as url:
        code = main(["--base-url", url, "--key", KEY, "--tier", "smoke", "--timeout", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"cannot reach {url}" in err
    assert "3 requests in a row got no reply (last: no complete reply within 1 s)" in err
    assert "Traceback" not in err
