"""The audit's webhook receiver on loopback: chunked bodies, query strings kept, every delivery counted."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conformance.webhooks import DELIVERY_LIMIT, receiving

pytestmark = pytest.mark.conformance


def _chunks() -> Iterator[bytes]:
    yield b'{"status": '
    yield b'"success"}'


def test_the_receiver_reads_chunked_and_sized_bodies_and_counts_each() -> None:
    with receiving() as receiver:
        url = receiver.url("job-1")
        httpx.post(url, content=_chunks(), headers={"Content-Type": "application/json"})
        httpx.post(url, json={"status": "success"})
        first = receiver.wait_for(["job-1"], 5.0)["job-1"]
        assert first is not None
        assert first.path == "/webhook/job-1?audit=job-1&kept=yes"
        assert first.json == {"status": "success"}
        assert [delivery.json for delivery in receiver.deliveries("job-1")] == [{"status": "success"}] * 2


def test_a_huge_delivery_is_cut_at_the_limit() -> None:
    with receiving() as receiver:
        httpx.post(receiver.url("big"), content=b"x" * (DELIVERY_LIMIT + 10))
        delivery = receiver.wait_for(["big"], 5.0)["big"]
        assert delivery is not None
        assert len(delivery.content) == DELIVERY_LIMIT
