"""The webhook stage (`--webhooks`): a local receiver, and the checks on what the target POSTs to it.

Per create operation, two jobs carry a webhook: one the target may finish at once, and one queued
(the `--prefer` header) that nobody polls, since a webhook must come when the job ends, not when a
client fetches it. Each URL has a query string, which must come back as given; each job's track_id
takes one of the JSON types the operation allows. Every delivery is counted: a job is delivered once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conformance.cases import render_value
from conformance.checks import Reply
from conformance.client import parse_json
from conformance.context import Context, example_case, status_of
from conformance.findings import Finding
from conformance.jobs import linked_id
from conformance.oracle import schema_errors
from conformance.redact import Redactor
from openapi.operations import Operation
from openapi.provenance import required_provenance

__all__ = ["Delivery", "WebhookReceiver", "check_delivery", "receiving", "run_webhooks"]

DELIVERY_LIMIT = 1024 * 1024  # bytes of one webhook body read at most
ACCEPTED = "a create with a webhook is accepted"
DELIVERED = "the webhook is POSTed as JSON to the URL as given when the job ends"
PAYLOAD = "the webhook payload matches the spec and echoes track_id"
ONCE = "the webhook is delivered once per job"
_SAMPLES = {"string": "audit-4242", "integer": 4242}


@dataclass(frozen=True)
class Delivery:
    path: str  # with its query string, as the target requested it
    content_type: str
    content: bytes
    redactor: Redactor | None = field(default=None, repr=False, compare=False)

    @property
    def json(self) -> Any:
        return parse_json(self.content)

    def show(self, value: Any, limit: int = 80) -> str:
        """A value from this payload as a finding shows it: the key removed first, then shortened."""
        return render_value(value, limit, self.redactor.text if self.redactor is not None else None)


class WebhookReceiver:
    """Collects POSTs on `http://HOST:PORT/webhook/<token>?...`; answers 200 to each."""

    def __init__(
        self, server: ThreadingHTTPServer, public_host: str, redactor: Redactor | None = None
    ) -> None:
        self._server = server
        self._public_host = public_host
        self.redactor = redactor
        self._deliveries: list[Delivery] = []
        self._arrived = threading.Condition()

    def url(self, token: str) -> str:
        port = self._server.server_address[1]
        return f"http://{self._public_host}:{port}/webhook/{token}?audit={token}&kept=yes"

    def record(self, delivery: Delivery) -> None:
        with self._arrived:
            self._deliveries.append(delivery)
            self._arrived.notify_all()

    def deliveries(self, token: str) -> list[Delivery]:
        with self._arrived:
            return [item for item in self._deliveries if item.path.split("?")[0] == f"/webhook/{token}"]

    def wait_for(
        self, tokens: list[str], timeout: float, clock: Callable[[], float] = time.monotonic
    ) -> dict[str, Delivery | None]:
        """The first delivery of each token, waiting until all have come or `timeout` has passed."""
        deadline = clock() + timeout
        with self._arrived:
            while True:
                first = {token: next(iter(self.deliveries(token)), None) for token in tokens}
                remaining = deadline - clock()
                if all(first.values()) or remaining <= 0:
                    return first
                self._arrived.wait(min(remaining, 0.2))


def _handler(receiver_box: list[WebhookReceiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a sender that stalls mid-request is dropped

        def _body(self) -> bytes:
            """The request body, chunked or not, never more than DELIVERY_LIMIT bytes."""
            if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
                declared = self.headers.get("Content-Length", "0")
                return self.rfile.read(min(int(declared) if declared.isdigit() else 0, DELIVERY_LIMIT))
            chunks, size = [], 0
            while size <= DELIVERY_LIMIT:
                line = self.rfile.readline(64).split(b";")[0].strip()
                length = int(line, 16) if line and all(c in b"0123456789abcdefABCDEF" for c in line) else 0
                if length == 0:
                    break
                chunks.append(self.rfile.read(min(length, DELIVERY_LIMIT + 1 - size)))
                size += length
                self.rfile.readline(8)
            return b"".join(chunks)[:DELIVERY_LIMIT]

        def do_POST(self) -> None:
            content = self._body()
            receiver = receiver_box[0]
            receiver.record(
                Delivery(self.path, self.headers.get("Content-Type", ""), content, receiver.redactor)
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the audit reports deliveries
            return

    return Handler


@contextmanager
def receiving(
    bind_host: str = "127.0.0.1", public_host: str | None = None, redactor: Redactor | None = None
) -> Iterator[WebhookReceiver]:
    """A receiver on a free port of `bind_host`; `public_host` is the name the target should use."""
    box: list[WebhookReceiver] = []
    server = ThreadingHTTPServer((bind_host, 0), _handler(box))
    server.daemon_threads = True
    receiver = WebhookReceiver(server, public_host or bind_host, redactor)
    box.append(receiver)
    thread = threading.Thread(target=server.serve_forever, name="audit-webhooks", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _track_ids(operation: Operation) -> list[Any]:
    """One track_id per JSON type the operation allows (4242 or "audit-4242", then null)."""
    declared = operation.property_schemas.get("track_id", {}).get("type", [])
    declared = [declared] if isinstance(declared, str) else list(declared)
    values = [_SAMPLES[kind] for kind in declared if kind in _SAMPLES]
    return values + ([None] if "null" in declared else [])


def check_delivery(
    reply: Reply, url: str, delivery: Delivery | None, track_id: Any, job_id: Any
) -> list[Finding]:
    """Delivered when the job ends, as JSON, to the URL as given; the payload is the spec's."""
    if delivery is None:
        queued = status_of(reply) == "processing"
        outcome = "nothing arrived" + (" (the job was queued and not fetched)" if queued else "")
        return [reply.finding("webhook", "is delivered when the job ends", outcome)]
    found = []
    media_type = delivery.content_type.split(";")[0].strip().lower()
    if media_type != "application/json":
        found.append(
            reply.finding("webhook", "content type application/json", f"got {media_type or '(none)'!r}")
        )
    wanted = url.split("/", 3)[3]
    if delivery.path != "/" + wanted:
        found.append(
            reply.finding(
                "webhook", "is POSTed to the URL as given", f"expected /{wanted}, got {delivery.path}"
            )
        )
    return found


def check_payload(reply: Reply, delivery: Delivery, track_id: Any, job_id: Any) -> list[Finding]:
    """The payload matches the spec's webhook branch for its status, its id and its track_id."""
    payload = delivery.json
    status = payload.get("status") if isinstance(payload, Mapping) else None
    branch = reply.operation.webhook_branches.get(status) if isinstance(status, str) else None
    if branch is None:
        allowed = "|".join(reply.operation.webhook_branches)
        return [reply.finding("webhook.status", f"enum {allowed}", f"got {delivery.show(status)}")]
    found = []
    for error in schema_errors(branch, payload):
        required = error.constraint == "required" and "." not in error.parameter
        source = (required_provenance(branch, error.parameter) if required else None) or "pages"
        outcome = "missing" if required else f"got {delivery.show(error.value)}"
        found.append(
            reply.finding(
                f"webhook.{error.parameter}", f"{status} payload {error.constraint}", outcome, source
            )
        )
    if isinstance(payload, Mapping) and "track_id" in payload:
        found.extend(_track_id_echo(reply, track_id, payload["track_id"]))
    if job_id is not None and isinstance(payload, Mapping) and payload.get("id") != job_id:
        outcome = f"expected {render_value(job_id)}, got {delivery.show(payload.get('id'))}"
        found.append(reply.finding("webhook.id", "is the job's id", outcome))
    return found


def _track_id_echo(reply: Reply, sent: Any, echoed: Any) -> list[Finding]:
    """The same value back; the same JSON type too (the kit's choice: the pages disagree on the type)."""
    outcome = f"sent {render_value(sent)}, got {render_value(echoed)}"
    if render_value(echoed) == render_value(sent):
        return []
    if sent is not None and echoed is not None and str(echoed) == str(sent):
        return [reply.finding("webhook.track_id", "echoes track_id with its JSON type", outcome, "inferred")]
    return [reply.finding("webhook.track_id", "echoes track_id", outcome)]


@dataclass
class _Sent:
    token: str
    url: str
    track_id: Any
    reply: Reply


def _send(ctx: Context, receiver: WebhookReceiver, operation: Operation) -> list[_Sent]:
    sent = []
    prefer = {"Prefer": ctx.config.prefer} if ctx.config.prefer else {}
    for index, track_id in enumerate(_track_ids(operation)):
        token = f"{operation.operation_id}-{index}"
        url = receiver.url(token)
        headers = prefer if index % 2 else {}  # every other job queued, and never fetched
        case = example_case(
            operation, "webhooks", body={"webhook": url, "track_id": track_id}, headers=headers, derived=True
        )
        reply = ctx.judge.send(case)
        ctx.judge.check(reply)
        found = []
        if status_of(reply) not in {"success", "processing"}:
            got = (
                reply.exchange.show(reply.exchange.json)
                if reply.exchange.json is not None
                else reply.exchange.error
            )
            found.append(reply.finding("webhook", "a create with a webhook is accepted", f"got {got}"))
        else:
            sent.append(_Sent(token, url, track_id, reply))
        ctx.judge.record(operation.operation_id, "webhooks", ACCEPTED, found)
    return sent


def run_webhooks(ctx: Context) -> None:
    """Each create operation's jobs with a webhook; what arrives is checked, and counted."""
    config = ctx.config
    with receiving(config.webhook_bind, config.webhook_host, ctx.judge.client.redactor) as receiver:
        sent: list[_Sent] = []
        for operation in ctx.operations:
            if operation.kind == "create" and operation.webhook_branches:
                sent.extend(_send(ctx, receiver, operation))
        if not sent or ctx.judge.client.dry_run:
            return
        first = receiver.wait_for([item.token for item in sent], config.webhook_timeout)
        if any(first.values()):
            time.sleep(min(1.0, config.webhook_timeout))  # room for a duplicate to arrive
        for item in sent:
            name = item.reply.operation.operation_id
            job_id = linked_id(item.reply.operation, item.reply.exchange.json)
            delivery = first[item.token]
            ctx.judge.record(
                name,
                "webhooks",
                DELIVERED,
                check_delivery(item.reply, item.url, delivery, item.track_id, job_id),
            )
            if delivery is None:
                continue
            ctx.judge.record(
                name, "webhooks", PAYLOAD, check_payload(item.reply, delivery, item.track_id, job_id)
            )
            count = len(receiver.deliveries(item.token))
            found = []
            if count > 1:
                # The vendor's webhook page says deliveries may repeat; once per job is the kit's reading.
                found.append(
                    item.reply.finding(
                        "webhook", "is delivered once per job", f"arrived {count} times", "inferred"
                    )
                )
            ctx.judge.record(name, "webhooks", ONCE, found)
