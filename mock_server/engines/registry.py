"""Building the configured engine; the diffusers engine is imported only when it is asked for."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from mock_server.engines.base import Engine
from mock_server.engines.synthetic import SyntheticEngine
from mock_server.settings import Settings, SettingsError
from mock_server.state.clock import Clock, SystemClock

if TYPE_CHECKING:
    from mock_server.state.redis.engine_workers import RedisEngineWorkers

__all__ = ["REFERENCE_INSTALL", "build_engine"]

# Works from a clone of the repository (the distribution is not on a package index).
REFERENCE_INSTALL = "pip install '.[reference]' in a clone of mixmock"


def build_engine(
    settings: Settings, workers: RedisEngineWorkers | None = None, clock: Clock | None = None
) -> Engine:
    """The configured engine; `remote` needs the store's registry of engine workers (a Redis store)."""
    if settings.engine == "synthetic":
        return SyntheticEngine()
    if settings.engine == "remote":
        if workers is None:
            raise SettingsError("engine 'remote' needs a Redis store (--store redis://HOST:PORT/DB)")
        from mock_server.engines.remote import RemoteEngine

        return RemoteEngine(workers, clock or SystemClock(), fallback_job_s=settings.default_eta)
    if settings.engine == "diffusers":
        try:
            module = importlib.import_module("mock_server.engines.diffusers")
        except ImportError as error:
            raise SettingsError(
                f"engine 'diffusers' needs the reference extra ({REFERENCE_INSTALL}): {error}"
            ) from None
        if not settings.model_dir:
            raise SettingsError("engine 'diffusers' needs --model-dir (a folder of diffusers-format weights)")
        engine: Engine = module.DiffusersEngine.create(
            model_dir=settings.model_dir,
            device=settings.device,
            dtype=settings.dtype,
            mixing=settings.mixing,
            allow_hosts=settings.allow_hosts,
            # 1 gives bit-for-bit reproducible images under concurrent load; larger batches differ by
            # float rounding (a sample's numbers depend on what it is batched with).
            max_batch_samples=settings.max_batch,
        )
        return engine
    raise SettingsError(f"setting 'engine' = {settings.engine!r}: expected synthetic, diffusers or remote")
