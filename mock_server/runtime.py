"""What one server process holds, built once: the routes, the job store and lifecycle, the engine,
the CI services (journal, run-time defaults, webhooks, faults), and the background loops they need.

Every part is built before the `Runtime` exists and none is replaced later: the webhook dispatcher
reads jobs through the same `Lifecycle` that the pipeline finishes them with.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from mock_server.engines.base import Engine
from mock_server.engines.registry import REFERENCE_INSTALL, build_engine
from mock_server.parsing import parse_latency
from mock_server.pipeline.limits import BodyLimits
from mock_server.pipeline.negotiation import Policy
from mock_server.pipeline.quirks import Quirk, select_quirks
from mock_server.pipeline.routing import Route, route_table
from mock_server.pipeline.scenario_rules import Rule, RulesError, load_rules
from mock_server.services.background import repeat
from mock_server.services.defaults import DefaultsStore, SQLiteDefaults
from mock_server.services.deliveries import SQLiteDeliveries
from mock_server.services.faults import FaultConfig, FaultInjector, quiet_dropped_connections
from mock_server.services.journal import FLUSH_EVERY_S, Journal, SQLiteJournal
from mock_server.services.webhooks import WebhookDispatcher, WebhookPolicy
from mock_server.settings import Settings, SettingsError
from mock_server.state.clock import Clock, SystemClock
from mock_server.state.database import check_store
from mock_server.state.ids import DerivedIds, Ids
from mock_server.state.jobs import JobStore, StoreError
from mock_server.state.lifecycle import Lifecycle
from mock_server.state.sqlite_store import SQLiteJobStore

__all__ = ["ImageCache", "Runtime", "build_runtime", "preflight", "purge_expired"]

log = logging.getLogger("mixmock.runtime")
Render = Callable[[], Awaitable[list[bytes]]]


class ImageCache:
    """The last rendered images, by file prefix (all samples of a job together).

    `get_or_render` renders a prefix once however many downloads ask for it at the same time: the
    first starts the render, the others wait for it.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, list[bytes]] = OrderedDict()
        self._rendering: dict[str, asyncio.Future[list[bytes]]] = {}

    def get(self, file_prefix: str) -> list[bytes] | None:
        images = self._items.get(file_prefix)
        if images is not None:
            self._items.move_to_end(file_prefix)
        return images

    def put(self, file_prefix: str, images: list[bytes]) -> None:
        self._items[file_prefix] = images
        self._items.move_to_end(file_prefix)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    async def get_or_render(self, file_prefix: str, render: Render) -> list[bytes]:
        images = self.get(file_prefix)
        if images is not None:
            return images
        pending = self._rendering.get(file_prefix)
        if pending is None:
            pending = self._rendering[file_prefix] = asyncio.ensure_future(render())
            pending.add_done_callback(lambda done: self._rendered(file_prefix, done))
        # shielded: a client that goes away does not cancel the render the others wait for
        return await asyncio.shield(pending)

    def _rendered(self, file_prefix: str, done: asyncio.Future[list[bytes]]) -> None:
        self._rendering.pop(file_prefix, None)
        if not done.cancelled() and done.exception() is None:
            self.put(file_prefix, done.result())


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    routes: Sequence[Route]
    store: JobStore
    lifecycle: Lifecycle
    engine: Engine
    clock: Clock
    ids: Ids
    policy: Policy  # rules file, ratios and error statuses: the server-wide part of the reply choice
    rng: random.Random  # the ratio draws
    images: ImageCache
    quirks: tuple[Quirk, ...]
    limits: BodyLimits
    journal: Journal
    defaults: DefaultsStore
    webhooks: WebhookDispatcher
    faults: FaultInjector
    key_secret: bytes = field(repr=False)  # the store's secret for key digests, read once

    def background_loops(self) -> list[Coroutine[Any, Any, None]]:
        """The tasks the app runs while it serves."""
        loops = [
            repeat(self._purge, self.settings.purge_every_s, "purging expired jobs"),
            repeat(self._flush_journal, FLUSH_EVERY_S, "writing the request journal"),
            self.webhooks.run_forever(),
        ]
        if not self.engine.lazy:  # renew this process's claims on engine work, resume what others left
            loops.append(repeat(self._engine_round, self.lifecycle.lease_s / 3, "resuming engine work"))
        return loops

    async def _purge(self) -> None:
        purge_expired(self)

    async def _flush_journal(self) -> bool:
        return self.journal.flush() > 0

    async def _engine_round(self) -> None:
        self.lifecycle.renew_leases()
        self.lifecycle.resume_unfinished()

    async def aclose(self) -> None:
        try:
            self.lifecycle.release_leases()  # a restart resumes this process's engine work at once
        except StoreError as error:
            log.error("could not give up the engine leases: %s", error)
        for task in list(self.lifecycle.tasks):
            task.cancel()
        await self.webhooks.aclose()
        await self.engine.aclose()
        for closable in (self.webhooks.deliveries, self.journal, self.defaults, self.store):
            with contextlib.suppress(StoreError):  # a journal that cannot be flushed is given up
                closable.close()


def preflight(settings: Settings, *, engine: bool = True) -> tuple[list[Rule], tuple[Quirk, ...]]:
    """What settings name beyond their own values (the rules file, quirks, the store, the engine's extra,
    unless an engine is given), checked before anything starts; SettingsError naming the problem."""
    try:
        rules = load_rules(settings.rules_file)
        quirks = select_quirks(settings.profile, settings.quirks)
    except (RulesError, ValueError) as error:
        raise SettingsError(str(error)) from None
    try:
        check_store(settings.store)
    except StoreError as error:
        raise SettingsError(f"setting 'store': {error}") from None
    if engine and settings.engine == "diffusers" and importlib.util.find_spec("torch") is None:
        raise SettingsError(f"engine 'diffusers' needs the reference extra: {REFERENCE_INSTALL}")
    return rules, quirks


@dataclass
class _Stores:
    """The store's parts, opened together and closed together when a later part cannot open."""

    jobs: SQLiteJobStore
    journal: SQLiteJournal
    defaults: SQLiteDefaults
    deliveries: SQLiteDeliveries

    @classmethod
    def open(cls, settings: Settings) -> _Stores:
        opened: list[Any] = []
        try:
            for make in (
                lambda: SQLiteJobStore(settings.store),
                lambda: SQLiteJournal(
                    settings.store, max_entries=settings.journal_size, max_bytes=settings.journal_bytes
                ),
                lambda: SQLiteDefaults(settings.store),
                lambda: SQLiteDeliveries(settings.store),
            ):
                opened.append(make())
        except StoreError as error:
            for part in opened:
                with contextlib.suppress(StoreError):
                    part.close()
            raise SettingsError(f"setting 'store': {error}") from None
        return cls(*opened)

    def close(self) -> None:
        for part in (self.deliveries, self.defaults, self.journal, self.jobs):
            with contextlib.suppress(StoreError):
                part.close()


def build_runtime(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None, ids: Ids | None = None
) -> Runtime:
    """Everything a server process holds; raises SettingsError naming a setting it cannot use."""
    rules, quirks = preflight(settings, engine=engine is None)
    clock = clock or SystemClock()
    stores = _Stores.open(settings)
    try:
        engine = engine if engine is not None else build_engine(settings)
    except BaseException:
        stores.close()
        raise
    lifecycle = Lifecycle(stores.jobs, clock, engine, lease_s=settings.engine_lease_s)
    webhooks = WebhookDispatcher(
        stores.deliveries,
        WebhookPolicy(allow_hosts=settings.webhook_allow_hosts, retry_for_s=settings.webhook_retry_s),
        clock,
        lifecycle.lookup,
    )
    lifecycle.listeners.append(webhooks.job_finished)
    latency = parse_latency(settings.latency) if settings.latency else None
    quiet_dropped_connections()
    return Runtime(
        settings=settings,
        routes=route_table(),
        store=stores.jobs,
        lifecycle=lifecycle,
        engine=engine,
        clock=clock,
        ids=ids or DerivedIds(settings.seed),
        policy=Policy(rules=tuple(rules), ratios=dict(settings.ratios), error_status=settings.error_status),
        rng=random.Random(settings.seed),
        images=ImageCache(settings.image_cache_size),
        quirks=quirks,
        limits=BodyLimits(max_bytes=settings.max_body_bytes),
        journal=stores.journal,
        defaults=stores.defaults,
        webhooks=webhooks,
        faults=FaultInjector(
            FaultConfig(latency, dict(settings.faults), settings.fault_seed, settings.slow_body_s)
        ),
        key_secret=stores.jobs.secret(),
    )


def purge_expired(runtime: Runtime) -> int:
    """Forget jobs older than `job_ttl_s` (fetch already answers them "Request not found")."""
    before = runtime.clock.now() - runtime.settings.job_ttl_s
    purged = runtime.store.purge(before)
    runtime.webhooks.deliveries.purge(before)
    if purged:
        log.info("purged %d expired jobs", purged)
    return purged
