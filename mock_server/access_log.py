"""The access log of `mixmock serve`: uvicorn's line format, written by the app in batches.

Under load, uvicorn's access logger was the mock's largest single cost (a LogRecord, a caller lookup,
a formatter copy and a flush for every request: about a quarter of the mock's throughput). The app logs
the same line itself, once the reply is sent, and the lines go out together: at once when the previous
write is older than `interval`, else within `interval` (a background thread writes what a burst left
behind), so a person watching the log sees each line at most `interval` late.
"""

from __future__ import annotations

import atexit
import http
import sys
import threading
import time
from typing import TextIO
from urllib.parse import quote

from starlette.types import Message, Scope

__all__ = ["ACCESS_LOG", "AccessLog", "access_line", "request_part"]

_PHRASES = {status.value: status.phrase for status in http.HTTPStatus}


def request_part(scope: Scope) -> str:
    """`INFO:     127.0.0.1:53422 - "POST /api/v6/image_editing/img_mixer HTTP/1.1"`, as uvicorn.

    Taken when the request arrives: routing (a Mount) rewrites the scope's paths on the way in.
    """
    client = scope.get("client")
    address = f"{client[0]}:{client[1]}" if client else "-"
    path = quote(scope.get("root_path", "") + scope["path"])
    query = scope.get("query_string", b"")
    if query:
        path = f"{path}?{query.decode('ascii', 'replace')}"
    return f'INFO:     {address} - "{scope["method"]} {path} HTTP/{scope["http_version"]}"'


def access_line(request: str, status: int) -> str:
    return f"{request} {status} {_PHRASES.get(status, '')}"


class AccessLog:
    """Collects access lines and writes them in batches to a stream (stdout, as uvicorn's logger)."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.05, capacity: int = 512) -> None:
        self._stream = stream
        self.interval = interval
        self.capacity = capacity
        self._pending: list[str] = []
        self._written_at = 0.0
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None

    def record(self, request: str, message: Message) -> None:
        """Called with each message the app sends (`request` from `request_part`); logs the reply's start."""
        if message["type"] != "http.response.start":
            return
        line = access_line(request, message["status"])
        with self._lock:
            self._pending.append(line)
            due = len(self._pending) >= self.capacity or time.monotonic() - self._written_at >= self.interval
            if self._flusher is None:
                self._start_flusher()
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            if not self._pending:
                return
            text = "\n".join(self._pending) + "\n"
            self._pending.clear()
            self._written_at = time.monotonic()
        stream = self._stream or sys.stdout
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: the lines have nowhere to go
            pass

    def _start_flusher(self) -> None:
        def flush_periodically() -> None:
            while True:
                time.sleep(self.interval)
                self.flush()

        self._flusher = threading.Thread(target=flush_periodically, name="mixmock-access-log", daemon=True)
        self._flusher.start()
        atexit.register(self.flush)


# One per process: every app of the process writes through it, so there is one flushing thread.
ACCESS_LOG = AccessLog()
