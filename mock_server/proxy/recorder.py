"""Recording a proxy session: one HAR file per run in the `--record` directory, redacted as it is written."""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mock_server.proxy.har import Exchange, HarWriter, har_entry
from mock_server.proxy.redaction import Redactor

__all__ = ["Recorder", "recording_name"]

log = logging.getLogger("mixmock.proxy")


def recording_name(moment: float) -> str:
    """`mixmock-20261104T101500Z-<pid>-<random>.har`: sorts by start time, unique per run."""
    stamp = datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"mixmock-{stamp}-{os.getpid()}-{os.urandom(3).hex()}.har"


class Recorder:
    """Writes exchanges in the order they complete; one at a time, off the event loop."""

    def __init__(
        self, directory: Path, notes: Mapping[str, Any], redactor: Redactor, max_bytes: int, now: float
    ):
        self.directory = directory
        self.redactor = redactor
        self._writer = HarWriter(directory / recording_name(now), notes, max_bytes)
        self._lock = asyncio.Lock()

    @property
    def path(self) -> Path:
        return self._writer.path

    @property
    def entries(self) -> int:
        return self._writer.entries

    async def record(self, exchange: Exchange) -> None:
        entry = har_entry(exchange, self.redactor)  # redacted here, before the write below
        async with self._lock:
            was_full = self._writer.full
            try:
                written = await asyncio.to_thread(self._writer.append, entry)
            except OSError as error:  # a full disk stops the recording, never the proxy
                log.error("recording to %s failed: %s", self._writer.path, error)
                return
        if not written and not was_full:
            log.warning(
                "recording %s reached %d bytes; later exchanges are proxied but not recorded",
                self._writer.path,
                self._writer.max_bytes,
            )
