"""What one server process holds, built once: the routes, the job store and lifecycle, the engine,
the CI services (journal, run-time defaults, webhooks, faults), and the background loops they need.

Every part is built before the `Runtime` exists and none is replaced later: the webhook dispatcher
reads jobs through the same `Lifecycle` that the pipeline finishes them with.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import random
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
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
from mock_server.services.defaults import DefaultsStore
from mock_server.services.faults import FaultConfig, FaultInjector, quiet_dropped_connections
from mock_server.services.journal import FLUSH_EVERY_S, Journal
from mock_server.services.rule_book import RuleBook, RulesFile
from mock_server.services.rules import RunTimeRules
from mock_server.services.webhooks import WebhookDispatcher, WebhookPolicy
from mock_server.settings import Settings, SettingsError
from mock_server.state.backends import Backend, open_backend
from mock_server.state.clock import Clock, SystemClock
from mock_server.state.health import StoreHealth
from mock_server.state.ids import DerivedIds, Ids
from mock_server.state.jobs import JobStore, StoreUnavailableError
from mock_server.state.lifecycle import Lifecycle

__all__ = ["ImageCache", "Runtime", "build_runtime", "preflight", "purge_expired"]

log = logging.getLogger("mixmock.runtime")
HEALTH_EVERY_S = 1.0


class ImageCache:
    """The last rendered images, by file prefix (all samples of a job together)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, list[bytes]] = OrderedDict()

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
    rng: random.Random  # the ratio draws
    images: ImageCache
    quirks: tuple[Quirk, ...]
    limits: BodyLimits
    journal: Journal
    defaults: DefaultsStore
    webhooks: WebhookDispatcher
    faults: FaultInjector
    backend: Backend  # where the parts above keep their state; its engine queue with a Redis store
    health: StoreHealth
    replay: Replay | None = None  # `--replay DIR`: recorded exchanges answer first (pipeline/handler.py)

    def background_loops(self) -> list[Coroutine[Any, Any, None]]:
        """The tasks the app runs while it serves."""
        loops = [_purge_loop(self), _journal_loop(self), _health_loop(self), self.webhooks.run_forever()]
        if self.settings.rules_file and self.settings.rules_poll_s > 0:
            loops.append(_rules_file_loop(self))
        return loops

    async def aclose(self) -> None:
        for task in list(self.lifecycle.tasks):
            task.cancel()
        await self.webhooks.aclose()
        if self.replay is not None:
            await self.replay.aclose()
        await self.engine.aclose()
        await self.backend.aclose()


def preflight(settings: Settings, *, engine: bool = True) -> tuple[list[Rule], tuple[Quirk, ...]]:
    """What settings name beyond their own values (the rules file, quirks, the engine's extra, unless
    an engine is given), checked before anything starts; SettingsError naming the problem."""
    try:
        rules = load_rules(settings.rules_file)
        quirks = select_quirks(settings.profile, settings.quirks)
    except (RulesError, ValueError) as error:
        raise SettingsError(str(error)) from None
    if settings.replay_dir is not None and settings.workers > 1:
        raise SettingsError("--replay keeps each replayed job in its process: use it with --workers 1")
    if engine and settings.engine == "diffusers" and importlib.util.find_spec("torch") is None:
        raise SettingsError(f"engine 'diffusers' needs the reference extra: {REFERENCE_INSTALL}")
    return rules, quirks


def build_runtime(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None, ids: Ids | None = None
) -> Runtime:
    """Everything a server process holds; raises SettingsError naming a setting it cannot use."""
    rules, quirks = preflight(settings, engine=engine is None)
    clock = clock or SystemClock()
    backend = open_backend(settings)
    engine = engine if engine is not None else build_engine(settings, backend.queue, clock)
    store = backend.jobs
    lifecycle = Lifecycle(store, clock, engine)
    webhooks = WebhookDispatcher(
        backend.deliveries,
        WebhookPolicy(allow_hosts=settings.webhook_allow_hosts, retry_for_s=settings.webhook_retry_s),
        clock,
        lifecycle.lookup,
    )
    lifecycle.listeners.append(webhooks.job_finished)
    health = StoreHealth(store)
    webhooks.on_store_error = health.failed
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
        rng=random.Random(settings.seed),
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


async def _purge_loop(runtime: Runtime) -> None:
    while True:
        try:
            purge_expired(runtime)
        except StoreUnavailableError as error:  # logged once by the health tracker; try again next round
            runtime.health.failed(error)
        except Exception:  # a locked or broken store must not stop the server; try again next round
            log.exception("purging expired jobs failed")
        await asyncio.sleep(runtime.settings.purge_every_s)


async def _journal_loop(runtime: Runtime) -> None:
    """Write the journal's buffered entries every FLUSH_EVERY_S, so other workers see them soon."""
    journal = runtime.journal
    while True:
        await asyncio.sleep(FLUSH_EVERY_S if runtime.health.ok else HEALTH_EVERY_S)
        if journal.pending:
            try:  # in a thread: a networked journal's round trip must not hold up the event loop
                await asyncio.to_thread(journal.flush)
            except StoreUnavailableError as error:  # the entries stay buffered (bounded) for the next try
                runtime.health.failed(error)
            except Exception:  # the journal is for inspection; a full disk must not stop the server
                log.exception("writing the request journal failed")


async def _rules_file_loop(runtime: Runtime) -> None:
    """Read the rules file again when it changes (a bad edit keeps the last good rules: rule_book.py)."""
    while True:
        await asyncio.sleep(runtime.settings.rules_poll_s)
        try:
            runtime.rules.file.check()
        except Exception:  # the file's rules stay as they were; the server goes on
            log.exception("checking the rules file failed")


async def _health_loop(runtime: Runtime) -> None:
    """Ping the store every HEALTH_EVERY_S, so an outage and the recovery are noticed without traffic."""
    while True:
        await asyncio.to_thread(runtime.health.check)
        await asyncio.sleep(HEALTH_EVERY_S)
