"""The CI services of one server process: journal, run-time defaults, webhooks, faults, limits, expiry.

`attach_services` builds them onto a runtime (all sharing the job store's file, so workers share them),
`admin_routes` mounts the admin API, and `background_loops` are the tasks the app runs while it serves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from starlette.routing import BaseRoute

from mock_server.admin import Admin, admin_mount
from mock_server.faults import FaultConfig, FaultInjector, parse_latency, quiet_dropped_connections
from mock_server.jobs import Job
from mock_server.journal import FLUSH_EVERY_S, SQLiteJournal
from mock_server.lifecycle import settle
from mock_server.limits import BodyLimits
from mock_server.overrides import SQLiteOverrides
from mock_server.runtime import Runtime
from mock_server.webhook_store import SQLiteDeliveries
from mock_server.webhooks import WebhookDispatcher, WebhookPolicy

__all__ = ["admin_routes", "attach_services", "background_loops", "close_services", "purge_expired"]

log = logging.getLogger("mixmock.services")


def attach_services(runtime: Runtime) -> Runtime:
    settings = runtime.settings
    path = settings.store

    async def lookup(job_id: int) -> Job | None:
        job = runtime.store.get(job_id)
        return None if job is None else await settle(runtime, job)

    policy = WebhookPolicy(allow_hosts=settings.webhook_allow_hosts, retry_for_s=settings.webhook_retry_s)
    dispatcher = WebhookDispatcher(SQLiteDeliveries(path), policy, runtime.clock, lookup)
    runtime.listeners.append(dispatcher.job_finished)
    latency = parse_latency(settings.latency) if settings.latency else None
    faults = FaultConfig(latency, dict(settings.faults), settings.fault_seed, settings.slow_body_s)  # type: ignore[arg-type]
    quiet_dropped_connections()
    return replace(
        runtime,
        journal=SQLiteJournal(path, max_entries=settings.journal_size),
        overrides=SQLiteOverrides(path),
        webhooks=dispatcher,
        faults=FaultInjector(faults),
        limits=BodyLimits(max_bytes=settings.max_body_bytes),
    )


def admin_routes(runtime: Runtime) -> list[BaseRoute]:
    settings = runtime.settings
    if not settings.admin or runtime.journal is None or runtime.overrides is None or runtime.webhooks is None:
        return []
    admin = Admin(
        journal=runtime.journal,
        deliveries=runtime.webhooks.deliveries,
        overrides=runtime.overrides,
        jobs=runtime.store,
        token=settings.admin_token,
        on_reset=runtime.faults.reset,
    )
    return [admin_mount(admin)]


def purge_expired(runtime: Runtime) -> int:
    """Forget jobs older than `job_ttl_s` (fetch already answers them "Request not found")."""
    before = runtime.clock.now() - runtime.settings.job_ttl_s
    purged = runtime.store.purge(before)
    if runtime.webhooks is not None:
        runtime.webhooks.deliveries.purge(before)
    if purged:
        log.info("purged %d expired jobs", purged)
    return purged


async def _purge_loop(runtime: Runtime) -> None:
    while True:
        try:
            purge_expired(runtime)
        except Exception:  # a locked or broken store must not stop the server; try again next round
            log.exception("purging expired jobs failed")
        await asyncio.sleep(runtime.settings.purge_every_s)


async def _journal_loop(journal: SQLiteJournal) -> None:
    """Write the journal's buffered entries every FLUSH_EVERY_S, so other workers see them soon."""
    while True:
        await asyncio.sleep(FLUSH_EVERY_S)
        if journal.pending:
            try:
                journal.flush()
            except Exception:  # the journal is for inspection; a full disk must not stop the server
                log.exception("writing the request journal failed")


def background_loops(runtime: Runtime) -> list[Coroutine[Any, Any, None]]:
    loops = [_purge_loop(runtime)]
    if runtime.journal is not None:
        loops.append(_journal_loop(runtime.journal))
    if runtime.webhooks is not None:
        loops.append(runtime.webhooks.run_forever())
    return loops


async def close_services(runtime: Runtime) -> None:
    if runtime.webhooks is not None:
        await runtime.webhooks.aclose()
        runtime.webhooks.deliveries.close()
    for closable in (runtime.journal, runtime.overrides):
        if closable is not None:
            closable.close()
