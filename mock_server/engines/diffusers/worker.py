"""One worker thread per device: queued jobs run one batch at a time, compatible ones together.

The event loop only enqueues and awaits a future, so torch never blocks it. When the worker picks
work, it takes the oldest waiting job and every other waiting job with the same batch key (same
operation, size, steps...), up to `max_batch_samples` samples, and runs them as one UNet batch.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["BatchWorker"]

PlanT = TypeVar("PlanT")
RunBatch = Callable[[Sequence[PlanT]], list[list[bytes]]]


@dataclass
class _Item(Generic[PlanT]):
    key: Hashable
    plan: PlanT
    samples: int
    estimate: float
    future: Future[list[bytes]] = field(default_factory=Future)


_STOP = object()


class BatchWorker(Generic[PlanT]):
    def __init__(
        self,
        run_batch: RunBatch[PlanT],
        *,
        max_batch_samples: int = 4,
        window_s: float = 0.0,
        on_batch: Callable[[float, float], None] | None = None,
        name: str = "engine-worker",
    ) -> None:
        if max_batch_samples < 1:
            raise ValueError(f"max_batch_samples must be at least 1, got {max_batch_samples!r}")
        if window_s < 0:
            raise ValueError(f"window_s must be 0 or more, got {window_s!r}")
        self._run_batch = run_batch
        self._max_samples = max_batch_samples
        self._window_s = window_s
        self._on_batch = on_batch  # (predicted seconds, measured seconds) after each batch
        self._inbox: queue.SimpleQueue[_Item[PlanT] | object] = queue.SimpleQueue()
        self._backlog: deque[_Item[PlanT]] = deque()
        self._lock = threading.Lock()
        self._waiting_estimate = 0.0
        self._running_until = 0.0
        self.batch_sizes: deque[int] = deque(maxlen=100)  # plans per batch run, newest last
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, key: Hashable, plan: PlanT, samples: int, estimate: float) -> Future[list[bytes]]:
        item = _Item(key, plan, samples, estimate)
        with self._lock:
            self._waiting_estimate += estimate
        self._inbox.put(item)
        return item.future

    def backlog_seconds(self) -> float:
        """Estimated seconds before a job submitted now would start."""
        with self._lock:
            return self._waiting_estimate + max(0.0, self._running_until - time.monotonic())

    @property
    def alive(self) -> bool:
        """Whether the worker thread still runs (False once `close` has returned)."""
        return self._thread.is_alive()

    def close(self, timeout: float | None = None) -> None:
        self._inbox.put(_STOP)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            if not self._collect():
                break
            batch = self._take_batch()
            if batch:
                self._run(batch)
        for item in self._backlog:
            item.future.cancel()

    def _collect(self) -> bool:
        """Move arrivals into the backlog (waiting for one when idle); False once asked to stop."""
        try:
            if not self._backlog:
                self._backlog.append(self._checked(self._inbox.get()))
                deadline = time.monotonic() + self._window_s
                while (remaining := deadline - time.monotonic()) > 0:
                    self._backlog.append(self._checked(self._inbox.get(timeout=remaining)))
            while True:
                self._backlog.append(self._checked(self._inbox.get_nowait()))
        except queue.Empty:
            return True
        except _StoppedError:
            return False

    def _checked(self, item: _Item[PlanT] | object) -> _Item[PlanT]:
        if isinstance(item, _Item):
            return item
        raise _StoppedError

    def _take_batch(self) -> list[_Item[PlanT]]:
        key = self._backlog[0].key
        batch: list[_Item[PlanT]] = []
        samples = 0
        for item in list(self._backlog):
            if item.key != key or (batch and samples + item.samples > self._max_samples):
                continue
            self._backlog.remove(item)
            with self._lock:
                self._waiting_estimate -= item.estimate
            if item.future.set_running_or_notify_cancel():  # False: the caller went away
                batch.append(item)
                samples += item.samples
        return batch

    def _run(self, batch: list[_Item[PlanT]]) -> None:
        predicted = sum(item.estimate for item in batch)
        started = time.monotonic()
        with self._lock:
            self._running_until = started + predicted
        try:
            results = self._run_batch([item.plan for item in batch])
        except Exception as error:  # handed to every caller; the worker keeps serving
            for item in batch:
                item.future.set_exception(error)
            return
        finally:
            with self._lock:
                self._running_until = 0.0
        self.batch_sizes.append(len(batch))
        if self._on_batch is not None:
            self._on_batch(predicted, time.monotonic() - started)
        for item, result in zip(batch, results, strict=True):
            item.future.set_result(result)


class _StoppedError(Exception):
    pass
