"""The event loop's own connection to Redis, for the calls every request makes (create, fetch, poll).

One connection per loop, pipelined: a call writes its command at once and awaits its reply, and Redis
answers a connection's commands in order, so replies are matched first in, first out. No pool checkout,
no stream reader: a request's round trip costs the loop a few microseconds of Python, where redis-py's
asyncio client costs tens, and the loop serves other requests while Redis works. Errors are redis-py's
exception classes, so the store turns an outage into StoreError the same way for both clients.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import ssl
from typing import Any, cast

from redis.connection import SSLConnection, parse_url
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    NoScriptError,
    ReadOnlyError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mock_server.state.redis.connection import pack_command

__all__ = ["LoopClient", "LoopScript"]

_INCOMPLETE = object()
_ERRORS: dict[str, type[Exception]] = {
    "NOSCRIPT": NoScriptError,
    "READONLY": ReadOnlyError,
    "LOADING": BusyLoadingError,
    "WRONGPASS": AuthenticationError,
    "NOAUTH": AuthenticationError,
}


def _error(text: str) -> Exception:
    kind = _ERRORS.get(text.split(" ", 1)[0], ResponseError)
    return kind(text)


def _parse(buffer: bytes, start: int) -> tuple[Any, int]:
    """One RESP2 reply from `buffer[start:]`: (value, end), or (_INCOMPLETE, start) when more must come."""
    end = buffer.find(b"\r\n", start)
    if end < 0:
        return _INCOMPLETE, start
    kind, line, after = buffer[start], buffer[start + 1 : end], end + 2
    if kind == 0x24:  # $ bulk string
        size = int(line)
        if size < 0:
            return None, after
        if len(buffer) < after + size + 2:
            return _INCOMPLETE, start
        return buffer[after : after + size], after + size + 2
    if kind == 0x3A:  # : integer
        return int(line), after
    if kind == 0x2A:  # * array
        count = int(line)
        if count < 0:
            return None, after
        items = []
        for _ in range(count):
            item, after = _parse(buffer, after)
            if item is _INCOMPLETE:
                return _INCOMPLETE, start
            items.append(item)
        return items, after
    if kind == 0x2B:  # + simple string
        return line.decode(), after
    if kind == 0x2D:  # - error
        return _error(line.decode(errors="replace")), after
    raise RedisConnectionError(f"unexpected reply from Redis: {bytes(buffer[start : end + 2])!r}")


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._buffer = b""
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream connection, always

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        position = 0
        while position < len(buffer):
            try:
                reply, position = _parse(buffer, position)
            except (ValueError, RedisConnectionError) as error:
                self._fail(RedisConnectionError(f"bad reply from Redis: {error}"))
                return
            if reply is _INCOMPLETE:
                break
            if not self.waiting:
                self._fail(RedisConnectionError("Redis sent a reply nobody asked for"))
                return
            future = self.waiting.popleft()
            if future.done():  # its caller timed out: the reply is dropped, the order kept
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(reply)
        self._buffer = buffer[position:]

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError(f"connection to Redis lost: {exc or 'closed by the server'}"))

    def _fail(self, error: Exception) -> None:
        self.lost = True
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(error)
        if self.transport is not None:
            self.transport.abort()


class LoopClient:
    """Calls on one pipelined connection of the running loop; reconnects on the next call after a loss."""

    def __init__(self, store_url: str, timeout_s: float = 5.0, connect_timeout_s: float = 2.0) -> None:
        options: dict[str, Any] = parse_url(store_url)  # type: ignore[no-untyped-call]
        self._host: str = options.get("host", "localhost")
        self._port: int = int(options.get("port", 6379))
        self._db = int(options.get("db", 0) or 0)
        self._username: str | None = options.get("username")
        self._password: str | None = options.get("password")
        self._tls = options.get("connection_class") is SSLConnection
        self._timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._protocol: _Protocol | None = None
        self._connecting = asyncio.Lock()

    async def _connection(self) -> _Protocol:
        if self._protocol is not None and not self._protocol.lost:
            return self._protocol
        async with self._connecting:
            if self._protocol is None or self._protocol.lost:
                self._protocol = await self._connect()
        return self._protocol

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        context = ssl.create_default_context() if self._tls else None
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(_Protocol, self._host, self._port, ssl=context),
                self._connect_timeout_s,
            )
        except (OSError, TimeoutError) as error:
            raise RedisConnectionError(
                f"cannot connect to Redis at {self._host}:{self._port}: {error}"
            ) from None
        handshake = []
        if self._password is not None:
            login = (self._username, self._password) if self._username else (self._password,)
            handshake.append(self._send(protocol, pack_command("AUTH", *login)))
        if self._db:
            handshake.append(self._send(protocol, pack_command("SELECT", self._db)))
        try:
            await asyncio.gather(*handshake)
        except BaseException:
            protocol._fail(RedisConnectionError("Redis refused the connection's AUTH or SELECT"))
            raise
        return protocol

    async def _send(self, protocol: _Protocol, packed: bytes) -> Any:
        if protocol.transport is None:  # pragma: no cover - create_connection returns a connected one
            raise RedisConnectionError("not connected to Redis")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        protocol.waiting.append(future)
        protocol.transport.write(packed)
        try:
            return await asyncio.wait_for(future, self._timeout_s)
        except TimeoutError:  # the builtin one, which asyncio raises
            raise RedisTimeoutError(f"Redis did not answer within {self._timeout_s:g} s") from None

    async def call(self, *args: str | int | bytes) -> Any:
        """One command; its reply (bulk strings as bytes). Error replies raise redis-py's exceptions."""
        return await self._send(await self._connection(), pack_command(*args))

    async def aclose(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()
        self._protocol = None


class LoopScript:
    """A Lua script run with EVALSHA on a LoopClient, loaded first whenever Redis lacks it."""

    def __init__(self, client: LoopClient, source: str) -> None:
        self._client = client
        self._source = source
        self._sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, *args: str | int | bytes, keys: tuple[str, ...] = ()) -> Any:
        try:
            return await self._client.call("EVALSHA", self._sha, len(keys), *keys, *args)
        except NoScriptError:  # a restarted Redis has forgotten its scripts
            await self._client.call("SCRIPT", "LOAD", self._source)
            return await self._client.call("EVALSHA", self._sha, len(keys), *keys, *args)
