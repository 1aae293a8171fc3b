"""The event loop's own Redis connection: RESP replies in any chunking, order, scripts, errors, reconnects."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import redis

from mock_server.state.redis.loop_client import LoopClient, LoopScript, _parse, _Protocol
from mock_server.tooling.redis_server import RedisServer
from mock_server.tooling.testing import free_port

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

REPLIES = (
    b"$5\r\nhello\r\n"
    b"$-1\r\n"
    b":42\r\n"
    b"*3\r\n$3\r\ndoc\r\n:-7\r\n*-1\r\n"
    b"+OK\r\n"
    b"-NOSCRIPT No matching script\r\n"
    b"$0\r\n\r\n"
)
EXPECTED: list[Any] = [b"hello", None, 42, [b"doc", -7, None], "OK", redis.exceptions.NoScriptError, b""]


@pytest.mark.parametrize("chunk", [1, 2, 7, len(REPLIES)], ids=lambda size: f"chunks-of-{size}")
def test_replies_are_parsed_however_the_bytes_arrive(chunk: int) -> None:
    async def feed() -> list[Any]:
        protocol = _Protocol()
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in EXPECTED]
        protocol.waiting.extend(futures)
        for start in range(0, len(REPLIES), chunk):
            protocol.data_received(REPLIES[start : start + chunk])
        return [future.exception() or future.result() for future in futures]

    got = asyncio.run(feed())
    assert got[:5] == EXPECTED[:5]
    assert isinstance(got[5], redis.exceptions.NoScriptError)
    assert got[6] == b""


def test_an_incomplete_reply_waits_for_more() -> None:
    assert _parse(b"$5\r\nhel", 0)[1] == 0
    assert _parse(b"*2\r\n:1\r\n", 0)[1] == 0


def run(test: Callable[[LoopClient], Any], url: str) -> Any:
    async def go() -> Any:
        client = LoopClient(url, timeout_s=2.0)
        try:
            return await test(client)
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.mark.redis
def test_pipelined_calls_get_their_own_replies(redis_service: RedisServer, redis_prefix: str) -> None:
    async def test(client: LoopClient) -> list[Any]:
        await asyncio.gather(*(client.call("SET", f"{redis_prefix}:{i}", i) for i in range(50)))
        return list(await asyncio.gather(*(client.call("GET", f"{redis_prefix}:{i}") for i in range(50))))

    assert run(test, redis_service.url) == [str(i).encode() for i in range(50)]


@pytest.mark.redis
def test_scripts_are_loaded_when_redis_lacks_them(redis_service: RedisServer, redis_prefix: str) -> None:
    async def test(client: LoopClient) -> Any:
        await client.call("SCRIPT", "FLUSH")
        script = LoopScript(client, "return {KEYS[1], ARGV[1]}")
        return await script("an-argument", keys=(redis_prefix,))

    assert run(test, redis_service.url) == [redis_prefix.encode(), b"an-argument"]


@pytest.mark.redis
def test_an_error_reply_raises_and_the_connection_goes_on(redis_service: RedisServer) -> None:
    async def test(client: LoopClient) -> Any:
        with pytest.raises(redis.ResponseError, match="unknown command"):
            await client.call("NO-SUCH-COMMAND")
        return await client.call("PING")

    assert run(test, redis_service.url) == "PONG"


@pytest.mark.redis
def test_a_restarted_redis_is_reconnected_to(redis_factory: Callable[..., RedisServer]) -> None:
    server = redis_factory()

    async def test(client: LoopClient) -> Any:
        await client.call("SET", "k", "v")
        server.restart()
        with pytest.raises(redis.ConnectionError):
            await client.call("GET", "k")  # the old connection is gone
        return await client.call("PING")  # the next call connects again

    assert run(test, server.url) == "PONG"


def test_an_unreachable_redis_is_a_connection_error() -> None:
    async def test(client: LoopClient) -> Any:
        return await client.call("PING")

    with pytest.raises(redis.ConnectionError, match="cannot connect"):
        run(test, f"redis://127.0.0.1:{free_port()}/0")


@pytest.mark.redis
def test_password_and_database_from_the_url(redis_factory: Callable[..., RedisServer]) -> None:
    server = redis_factory()
    admin = redis.Redis.from_url(server.url)
    admin.config_set("requirepass", "s3cret")
    admin.close()
    base = f"redis://:s3cret@127.0.0.1:{server.port}"

    async def test(client: LoopClient) -> Any:
        await client.call("SET", "k", "in-db-3")
        return await client.call("GET", "k")

    assert run(test, base + "/3") == b"in-db-3"
    checked = redis.Redis.from_url(base + "/3")
    assert checked.get("k") == b"in-db-3"
    other = redis.Redis.from_url(base + "/0")
    assert other.get("k") is None
    checked.close()
    other.close()
    with pytest.raises(redis.AuthenticationError):
        run(test, f"redis://:wrong@127.0.0.1:{server.port}/0")
