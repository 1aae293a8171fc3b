"""What one server process holds: settings, operations, job store, engine, clock, ids and caches."""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mock_server.clock import Clock
from mock_server.contract import Operation
from mock_server.engines.base import Engine
from mock_server.faults import FaultConfig, FaultInjector
from mock_server.identity import Ids
from mock_server.jobs import Job, JobStore
from mock_server.journal import SQLiteJournal
from mock_server.limits import BodyLimits
from mock_server.negotiation import Policy
from mock_server.overrides import SQLiteOverrides
from mock_server.quirks import Quirk
from mock_server.settings import Settings
from mock_server.webhooks import WebhookDispatcher

__all__ = ["ImageCache", "JobListener", "Runtime"]

JobListener = Callable[[Job], Awaitable[None]]


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


@dataclass
class Runtime:
    settings: Settings
    operations: Sequence[Operation]
    store: JobStore
    engine: Engine
    clock: Clock
    ids: Ids
    policy: Policy
    rng: random.Random
    images: ImageCache
    quirks: tuple[Quirk, ...] = ()
    # Called when a job reaches success or failed (webhook delivery hooks in here).
    listeners: list[JobListener] = field(default_factory=list)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    # CI features: the request journal, run-time scenario defaults, webhooks, faults, input limits
    journal: SQLiteJournal | None = None
    overrides: SQLiteOverrides | None = None
    webhooks: WebhookDispatcher | None = None
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(FaultConfig()))
    limits: BodyLimits = field(default_factory=BodyLimits)
