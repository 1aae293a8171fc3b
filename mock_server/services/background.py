"""The server's background loops: one step every few seconds (or when woken), forever.

A failing step never stops its loop, and never floods the log: a failure is logged when it starts (and
when its reason changes), its recovery once. A store that fails is the process's `StoreHealth`'s to
report: one line when it goes and one when it is back, however many loops meet it, and the loops wait
at least `STORE_RETRY_S` between tries meanwhile. A store that is full for an hour writes two lines, not
one traceback per round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from mock_server.state.health import StoreHealth
from mock_server.state.jobs import StoreError

__all__ = ["STORE_RETRY_S", "FailureLog", "repeat"]

log = logging.getLogger("mixmock.background")
STORE_RETRY_S = 1.0


class FailureLog:
    """Says when a recurring task starts failing, why (once per reason), and when it works again; a
    StoreError goes to `health` when there is one (it speaks for every task meeting the outage)."""

    def __init__(self, what: str, health: StoreHealth | None = None) -> None:
        self.what = what
        self.health = health
        self.failing: str | None = None  # the reason last logged; None while the task works

    def failed(self, error: Exception) -> None:
        if isinstance(error, StoreError) and self.health is not None:
            self.health.failed(error)
            return
        reason = f"{type(error).__name__}: {error}"
        if reason == self.failing:
            return
        self.failing = reason
        if isinstance(error, StoreError):  # the reason says it all; no traceback
            log.error("%s: %s", self.what, error)
        else:
            log.error("%s: %s", self.what, reason, exc_info=error)

    def worked(self) -> None:
        if self.failing is not None:
            log.info("%s works again", self.what)
            self.failing = None


async def repeat(
    step: Callable[[], Awaitable[bool | None]],
    interval_s: float,
    what: str,
    *,
    wake: asyncio.Event | None = None,
    health: StoreHealth | None = None,
) -> None:
    """Run `step` now, then every `interval_s`, or as soon as `wake` is set. A step that returns False
    had nothing to do: it says nothing about whether a failure is over."""
    failures = FailureLog(what, health)
    while True:
        wait_s = interval_s
        try:
            did = await step()
        except StoreError as error:
            failures.failed(error)
            wait_s = max(interval_s, STORE_RETRY_S)
        except Exception as error:
            failures.failed(error)
        else:
            if did is not False:
                failures.worked()
        if wake is None or wait_s > interval_s:
            await asyncio.sleep(wait_s)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=interval_s)
        wake.clear()
