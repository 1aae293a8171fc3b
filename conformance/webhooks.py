"""A local webhook receiver and the checks on what the target POSTs to it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conformance.cases import render_value
from conformance.checks import Reply
from conformance.client import parse_json
from conformance.findings import Finding
from conformance.oracle import schema_errors

__all__ = ["Delivery", "WebhookReceiver", "check_delivery", "receiving"]


@dataclass(frozen=True)
class Delivery:
    path: str
    content_type: str
    content: bytes

    @property
    def json(self) -> Any:
        return parse_json(self.content)


class WebhookReceiver:
    """Collects POSTs on `http://HOST:PORT/webhook/<token>`; answers 200 to each."""

    def __init__(self, server: ThreadingHTTPServer, public_host: str) -> None:
        self._server = server
        self._public_host = public_host
        self._deliveries: list[Delivery] = []
        self._arrived = threading.Condition()

    def url(self, token: str) -> str:
        return f"http://{self._public_host}:{self._server.server_address[1]}/webhook/{token}"

    def record(self, delivery: Delivery) -> None:
        with self._arrived:
            self._deliveries.append(delivery)
            self._arrived.notify_all()

    def wait_for(
        self, token: str, timeout: float, clock: Callable[[], float] = time.monotonic
    ) -> Delivery | None:
        deadline = clock() + timeout
        with self._arrived:
            while True:
                for delivery in self._deliveries:
                    if delivery.path == f"/webhook/{token}":
                        return delivery
                remaining = deadline - clock()
                if remaining <= 0:
                    return None
                self._arrived.wait(min(remaining, 0.2))


def _handler(receiver_box: list[WebhookReceiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            content = self.rfile.read(length) if length > 0 else b""
            receiver_box[0].record(Delivery(self.path, self.headers.get("Content-Type", ""), content))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the audit reports deliveries
            return

    return Handler


@contextmanager
def receiving(bind_host: str = "127.0.0.1", public_host: str | None = None) -> Iterator[WebhookReceiver]:
    """A receiver on a free port of `bind_host`; `public_host` is the name the target should use."""
    box: list[WebhookReceiver] = []
    server = ThreadingHTTPServer((bind_host, 0), _handler(box))
    receiver = WebhookReceiver(server, public_host or bind_host)
    box.append(receiver)
    thread = threading.Thread(target=server.serve_forever, name="audit-webhooks", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def check_delivery(reply: Reply, delivery: Delivery | None, track_id: Any, job_id: Any) -> list[Finding]:
    """The payload matches the spec's webhook branch for its status and echoes track_id with its type."""
    if delivery is None:
        return [reply.finding("webhook", "is delivered when the job ends", "nothing arrived")]
    payload = delivery.json
    status = payload.get("status") if isinstance(payload, Mapping) else None
    branch = reply.operation.webhook_branches.get(status) if isinstance(status, str) else None
    if branch is None:
        allowed = "|".join(reply.operation.webhook_branches)
        return [reply.finding("webhook.status", f"enum {allowed}", f"got {render_value(status)}")]
    found = [
        reply.finding(
            f"webhook.{error.parameter}",
            f"{status} payload {error.constraint}",
            "missing" if error.constraint == "required" else f"got {render_value(error.value)}",
        )
        for error in schema_errors(branch, payload)
    ]
    if isinstance(payload, Mapping) and "track_id" in payload:
        echoed = payload["track_id"]
        if echoed != track_id or type(echoed) is not type(track_id):
            found.append(
                reply.finding(
                    "webhook.track_id",
                    "echoes track_id with its JSON type",
                    f"sent {render_value(track_id)}, got {render_value(echoed)}",
                )
            )
    if job_id is not None and isinstance(payload, Mapping) and payload.get("id") != job_id:
        found.append(
            reply.finding(
                "webhook.id",
                "is the job's id",
                f"expected {render_value(job_id)}, got {render_value(payload.get('id'))}",
            )
        )
    return found
