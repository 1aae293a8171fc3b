"""What `mixmock worker` runs: the store, the engine and an `EngineWorker`, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal

from mock_server.engines.registry import build_engine
from mock_server.runtime import preflight
from mock_server.services.engine_worker import EngineWorker, worker_name
from mock_server.settings import Settings, SettingsError
from mock_server.state.backends import open_backend
from mock_server.state.clock import SystemClock
from mock_server.state.health import StoreHealth
from mock_server.state.lifecycle import Lifecycle
from mock_server.state.redis.urls import is_redis_url, shown

__all__ = ["WORKER_ENGINES", "check_worker_settings", "run_worker"]

WORKER_ENGINES = ("diffusers", "synthetic")
log = logging.getLogger("mixmock.worker")


def check_worker_settings(settings: Settings) -> None:
    """SettingsError unless the settings describe a worker: a Redis store and an engine that renders."""
    if not is_redis_url(settings.store):
        raise SettingsError(
            "mixmock worker needs a Redis store shared with the API replicas "
            f"(--store redis://HOST:PORT/DB); got store {settings.store!r}"
        )
    if settings.engine not in WORKER_ENGINES:
        raise SettingsError(
            f"mixmock worker renders with --engine diffusers (or synthetic); got engine {settings.engine!r}"
        )


async def _work(settings: Settings) -> None:
    backend = open_backend(settings)
    engine = build_engine(settings)
    try:
        if backend.workers is None:  # pragma: no cover - check_worker_settings asked for Redis
            raise SettingsError("the store has no engine worker registry")
        lifecycle = Lifecycle(
            backend.jobs,
            SystemClock(),
            engine,
            lease_s=settings.engine_lease_s,
            owner=worker_name(),
            grace_s=0,
        )
        health = StoreHealth(backend.jobs, shown(settings.store))
        worker = EngineWorker(
            backend.workers, lifecycle, backend.deliveries, health, max_in_flight=settings.max_batch
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        log.info(
            "engine worker %s: engine %s, up to %d jobs at once, store %s (prefix %s), lease %g s",
            worker.name,
            engine.name,
            worker.max_in_flight,
            shown(settings.store),
            settings.store_prefix,
            settings.engine_lease_s,
        )
        await worker.run(stop)
        log.info("engine worker %s stopped after %d job(s)", worker.name, worker.rendered)
    finally:
        await engine.aclose()
        await backend.aclose()


def run_worker(settings: Settings) -> int:
    check_worker_settings(settings)
    preflight(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_work(settings))
    return 0
