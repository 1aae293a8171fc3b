"""Whether the store works: what `/ready` says, and one log line when that changes.

The store itself knows why it cannot be used (`JobStore.health()`: a recent failed access, or a probe
write that fails). A store that is down fails every request and every background round; logging each of
those would bury the one fact that matters. Everything that meets a StoreError reports it here, and the
log gets one line when the store goes and one when it comes back.
"""

from __future__ import annotations

import logging
import time

from mock_server.state.jobs import JobStore, StoreError

__all__ = ["StoreHealth"]

log = logging.getLogger("mixmock.store")


class StoreHealth:
    def __init__(self, store: JobStore, name: str) -> None:
        self._store = store
        self.name = name  # the store as logs show it (a path, or a URL without its password)
        self.problem: StoreError | None = None  # the outage going on, if any
        self._since = 0.0

    @property
    def ok(self) -> bool:
        return self.problem is None

    def failed(self, error: StoreError) -> None:
        """Something met the outage: logged once, until the store works again."""
        if self.problem is None:
            self._since = time.monotonic()
            log.error("%s; requests get the vendor's 503 reply and /ready is false until it is back", error)
        self.problem = error

    def recovered(self) -> None:
        if self.problem is not None:
            log.warning("the store %s answers again, after %.1f s", self.name, time.monotonic() - self._since)
            self.problem = None

    def check(self) -> StoreError | None:
        """Ask the store now (it may probe with a write: call it off the event loop); the outage, or None."""
        try:
            why = self._store.health()
        except StoreError as error:
            why = error.reason
        if why is not None:
            problem = StoreError(self.name, why)
            self.failed(problem)
            return problem
        self.recovered()
        return None
