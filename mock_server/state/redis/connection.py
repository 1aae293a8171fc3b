"""Reaching Redis: the client, key names under one prefix, and Redis errors in the store's terms.

Several mocks can share one Redis by giving each its own key prefix (`--store-prefix`); every key of this
backend starts with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.exceptions import (
    BusyLoadingError,
    ConnectionError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TimeoutError,
)
from redis.retry import Retry

from mock_server.state.jobs import MAX_JOB_ID, StoreError, Window
from mock_server.state.redis.urls import shown

__all__ = [
    "Keys",
    "aguarded",
    "as_unavailable",
    "connect",
    "guarded",
    "newest_ids",
    "pack_command",
    "shown",
    "unavailable",
]

P = ParamSpec("P")
R = TypeVar("R")


# Short timeouts and one quick retry: a Redis that is down must turn a request into the vendor's 503 at
# once, not hold it for the default backoff.
_OPTIONS: dict[str, Any] = {"socket_timeout": 5.0, "socket_connect_timeout": 2.0, "health_check_interval": 30}


def connect(store: str) -> redis.Redis:
    """A client (a thread-safe connection pool) for a store URL; connects on first use."""
    return redis.Redis.from_url(store, retry=Retry(NoBackoff(), 1), **_OPTIONS)


@dataclass(frozen=True)
class Keys:
    """Key names of one mock (a prefix of its own lets several mocks share one Redis)."""

    prefix: str

    def __post_init__(self) -> None:
        if not self.prefix or any(c.isspace() for c in self.prefix):
            raise ValueError(f"key prefix {self.prefix!r} must be non-empty and have no spaces")

    def __call__(self, *parts: str | int) -> str:
        return ":".join((self.prefix, *(str(part) for part in parts)))


# OutOfMemoryError: maxmemory reached with nothing to evict, Redis refuses writes (a full disk's twin).
_UNAVAILABLE = (ConnectionError, TimeoutError, BusyLoadingError, ReadOnlyError, OutOfMemoryError)


def unavailable(error: Exception) -> bool:
    """Whether a Redis error means the store cannot serve now (not that a command was wrong)."""
    if isinstance(error, _UNAVAILABLE):
        return True
    # MISCONF: persistence is failing and Redis refuses writes; OOM: maxmemory reached.
    return isinstance(error, ResponseError) and str(error).startswith(("MISCONF", "OOM", "NOREPLICAS"))


class _HasStore(Protocol):
    store_url: str  # shown without its password


S = TypeVar("S", bound=_HasStore)


def guarded(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """A store method whose Redis outage becomes StoreError naming the store."""

    def call(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except redis.RedisError as error:
            raise as_unavailable(self.store_url, error) from None

    functools.update_wrapper(call, method)
    return call


def pack_command(*args: str | int | bytes) -> bytes:
    """One command in Redis's wire format (RESP), for calls with many arguments on the hot path: about
    three times faster than redis-py's general packer, which checks and converts each argument."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def aguarded(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """`guarded`, for a coroutine method."""

    async def call(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        except redis.RedisError as error:
            raise as_unavailable(self.store_url, error) from None

    functools.update_wrapper(call, method)
    return call


def _reason(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def as_unavailable(store_url: str, error: Exception) -> Exception:
    """`error` in the store's terms when it is an outage; else `error` itself."""
    if isinstance(error, redis.RedisError) and unavailable(error):
        return StoreError(store_url, _reason(error))
    return error


PAGE_BATCH = 64  # ids looked at a time while a page is chosen


def newest_ids(
    client: Any, index: str, measure: Callable[[list[int]], Sequence[int | None]], window: Window
) -> tuple[list[int], bool]:
    """The ids of one page in `window`, newest first, from the sorted set `index` (scored by id), and
    whether older ones remain. PAGE_BATCH ids at a time are `measure`d (a stored size per id; None leaves
    an id out) before any document is read."""
    return window.take(_measured(client, index, measure, window.before))


def _measured(
    client: Any, index: str, measure: Callable[[list[int]], Sequence[int | None]], before: int | None
) -> Iterator[tuple[int, int]]:
    upper = f"({min(before, MAX_JOB_ID + 1)}" if before is not None else "+inf"
    while ids := [
        int(found) for found in client.zrevrangebyscore(index, upper, "-inf", start=0, num=PAGE_BATCH)
    ]:
        yield from ((item, size) for item, size in zip(ids, measure(ids), strict=True) if size is not None)
        upper = f"({ids[-1]}"
