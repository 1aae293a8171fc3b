"""Whether the job store answers: what `/ready` says, and one log line when that changes.

A store that is down fails every request and every background round; logging each of those with a
traceback would bury the one fact that matters. Everything that meets the outage reports it here, and
the log gets one line when the store goes and one when it comes back.
"""

from __future__ import annotations

import logging
import time

from mock_server.state.jobs import JobStore, StoreUnavailableError

__all__ = ["StoreHealth"]

log = logging.getLogger("mixmock.store")


class StoreHealth:
    def __init__(self, store: JobStore) -> None:
        self._store = store
        self.problem: StoreUnavailableError | None = None  # the outage going on, if any
        self._since = 0.0

    @property
    def ok(self) -> bool:
        return self.problem is None

    def failed(self, error: StoreUnavailableError) -> None:
        """Something met the outage: logged once, until the store answers again."""
        if self.problem is None:
            self._since = time.monotonic()
            log.error("%s; requests get the vendor's 503 reply and /ready is false until it is back", error)
        self.problem = error

    def recovered(self) -> None:
        if self.problem is not None:
            log.warning("the job store %s answers again, after %.1f s", self.problem.store, self._since_s())
            self.problem = None

    def _since_s(self) -> float:
        return time.monotonic() - self._since

    def check(self) -> StoreUnavailableError | None:
        """Ping the store now; the outage, or None when it answers."""
        try:
            self._store.ping()
        except StoreUnavailableError as error:
            self.failed(error)
            return error
        self.recovered()
        return None
