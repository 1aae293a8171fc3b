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
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from mock_server.engines.base import Engine
from mock_server.engines.registry import REFERENCE_INSTALL, build_engine
from mock_server.parsing import parse_latency
from mock_server.pipeline.limits import BodyLimits
from mock_server.pipeline.negotiation import Policy
from mock_server.pipeline.quirks import Quirk, select_quirks
from mock_server.pipeline.routing import Route, route_table
from mock_server.pipeline.scenario_rules import Rule, RulesError, load_rules
from mock_server.replay import Replay, open_replay
from mock_server.services.background import repeat
from mock_server.services.defaults import DefaultsStore
from mock_server.services.faults import FaultConfig, FaultInjector, quiet_dropped_connections
from mock_server.services.journal import FLUSH_EVERY_S, Journal
from mock_server.services.rule_book import RuleBook, RulesFile
from mock_server.services.rules import RunTimeRules
from mock_server.services.webhooks import WebhookDispatcher, WebhookPolicy
from mock_server.sessions import SessionRandoms
from mock_server.settings import Settings, SettingsError
from mock_server.state.backends import Backend, open_backend
from mock_server.state.clock import Clock, SystemClock
from mock_server.state.database import check_store
from mock_server.state.health import StoreHealth
from mock_server.state.ids import DerivedIds, Ids
from mock_server.state.jobs import JobStore, StoreError
from mock_server.state.lifecycle import Lifecycle
from mock_server.state.redis.urls import is_redis_url, shown

__all__ = ["ImageCache", "Runtime", "build_runtime", "preflight", "purge_expired"]

log = logging.getLogger("mixmock.runtime")
HEALTH_EVERY_S = 1.0  # how often the store is asked whether it works, traffic or not
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
    policy: Policy  # ratios and error statuses: the server-wide part of the reply choice
    rules: RuleBook  # run-time rules and the rules file's, in match order
    rng: SessionRandoms  # the ratio draws, one generator per session
    images: ImageCache
    quirks: tuple[Quirk, ...]
    limits: BodyLimits
    journal: Journal
    defaults: DefaultsStore
    webhooks: WebhookDispatcher
    faults: FaultInjector
    backend: Backend  # where the parts above keep their state
    health: StoreHealth
    replay: Replay | None = None  # `--replay DIR`: recorded exchanges answer first (pipeline/handler.py)

    @property
    def key_secret(self) -> bytes:
        """The store's secret for key digests (read from the store once; StoreError while it is down)."""
        return self.store.secret()

    def background_loops(self) -> list[Coroutine[Any, Any, None]]:
        """The tasks the app runs while it serves."""
        health = self.health
        loops = [
            repeat(self._purge, self.settings.purge_every_s, "purging expired jobs", health=health),
            repeat(self._flush_journal, FLUSH_EVERY_S, "writing the request journal", health=health),
            repeat(self._check_health, HEALTH_EVERY_S, "checking the store"),
            self.webhooks.run_forever(),
        ]
        if not self.engine.lazy and self.lifecycle.renders:
            # renew this process's claims on engine work, resume what a stopped process left
            loops.append(
                repeat(self._engine_round, self.lifecycle.lease_s / 3, "resuming engine work", health=health)
            )
        if self.settings.rules_file and self.settings.rules_poll_s > 0:
            loops.append(
                repeat(self._check_rules_file, self.settings.rules_poll_s, "checking the rules file")
            )
        return loops

    async def _check_rules_file(self) -> bool:
        """Read the rules file again when it changes (a bad edit keeps the last good rules: rule_book.py)."""
        return self.rules.file.check()

    async def _purge(self) -> None:
        purge_expired(self)

    async def _flush_journal(self) -> bool:
        if not self.journal.pending:
            return False
        if not self.journal.networked:
            # on the loop: a thread woken every 20 ms to write a local file contends for the GIL with
            # the requests (a fifth of a process's creates per second, bench_mock)
            return self.journal.flush() > 0
        # in a thread: a networked journal's round trip must not hold up the event loop
        return await asyncio.to_thread(self.journal.flush) > 0

    async def _check_health(self) -> None:
        """Noticing an outage, and the recovery, without traffic (the check may write a probe)."""
        await asyncio.to_thread(self.health.check)

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
        if self.replay is not None:
            await self.replay.aclose()
        await self.engine.aclose()
        with contextlib.suppress(StoreError):  # a journal that cannot be flushed is given up
            await self.backend.aclose()


def preflight(settings: Settings, *, engine: bool = True) -> tuple[list[Rule], tuple[Quirk, ...]]:
    """What settings name beyond their own values (the rules file, quirks, the store, the engine's extra,
    unless an engine is given), checked before anything starts; SettingsError naming the problem."""
    try:
        rules = load_rules(settings.rules_file)
        quirks = select_quirks(settings.profile, settings.quirks)
    except (RulesError, ValueError) as error:
        raise SettingsError(str(error)) from None
    if settings.replay_dir is not None and settings.workers > 1:
        raise SettingsError("--replay keeps each replayed job in its process: use it with --workers 1")
    if not is_redis_url(settings.store):  # a Redis store is checked by /ready: it may come up later
        try:
            check_store(settings.store)
        except StoreError as error:
            raise SettingsError(f"setting 'store': {error}") from None
    if engine and settings.engine == "diffusers" and importlib.util.find_spec("torch") is None:
        raise SettingsError(f"engine 'diffusers' needs the reference extra: {REFERENCE_INSTALL}")
    return rules, quirks


def build_runtime(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None, ids: Ids | None = None
) -> Runtime:
    """Everything a server process holds; raises SettingsError naming a setting it cannot use."""
    rules, quirks = preflight(settings, engine=engine is None)
    clock = clock or SystemClock()
    try:
        backend = open_backend(settings)
    except StoreError as error:
        raise SettingsError(f"setting 'store': {error}") from None
    try:
        engine = engine if engine is not None else build_engine(settings, backend.workers, clock)
    except BaseException:
        backend.close()
        raise
    store = backend.jobs
    renders = engine.name != "remote"  # a remote engine's jobs are rendered by `mixmock worker`s
    lifecycle = Lifecycle(store, clock, engine, lease_s=settings.engine_lease_s, renders=renders)
    health = StoreHealth(store, shown(settings.store))
    webhooks = WebhookDispatcher(
        backend.deliveries,
        WebhookPolicy(allow_hosts=settings.webhook_allow_hosts, retry_for_s=settings.webhook_retry_s),
        clock,
        lifecycle.lookup,
        health=health,
    )
    lifecycle.listeners.append(webhooks.job_finished)
    latency = parse_latency(settings.latency) if settings.latency else None
    rules_file = RulesFile(settings.rules_file, rules)
    quiet_dropped_connections()
    return Runtime(
        settings=settings,
        routes=route_table(),
        store=store,
        lifecycle=lifecycle,
        engine=engine,
        clock=clock,
        ids=ids or DerivedIds(settings.seed),
        policy=Policy(ratios=dict(settings.ratios), error_status=settings.error_status),
        rules=RuleBook(RunTimeRules(backend.rules), rules_file),
        rng=SessionRandoms(settings.seed),
        images=ImageCache(settings.image_cache_size),
        quirks=quirks,
        limits=BodyLimits(max_bytes=settings.max_body_bytes),
        journal=backend.journal,
        defaults=backend.defaults,
        webhooks=webhooks,
        faults=FaultInjector(
            FaultConfig(latency, dict(settings.faults), settings.fault_seed, settings.slow_body_s)
        ),
        backend=backend,
        health=health,
        replay=open_replay(settings, clock, store),
    )


def purge_expired(runtime: Runtime) -> int:
    """Forget jobs older than `job_ttl_s` (fetch already answers them "Request not found")."""
    before = runtime.clock.now() - runtime.settings.job_ttl_s
    purged = runtime.store.purge(before)
    runtime.webhooks.deliveries.purge(before)
    if purged:
        log.info("purged %d expired jobs", purged)
    return purged
