"""Contract checks on one reply, each a small function named for what must hold.

Every check takes a `Reply` and returns findings (empty when it holds); CHECKS names each one, and the
name is the row the reports show, passes included. The reply's body is judged against the `oneOf`
branch its `status` names, so a finding says `reply.id: success branch type integer` rather than "not
valid under any of the schemas listed in the 'oneOf'".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from conformance.cases import render_value
from conformance.client import Exchange
from conformance.findings import Finding
from conformance.oracle import request_violations, schema_errors
from openapi.operations import Operation
from openapi.provenance import Source, required_provenance

__all__ = [
    "CHECKS",
    "Reply",
    "branch_conformance",
    "declared_properties",
    "error_message_present",
    "json_content_type",
    "meta_echoes_request",
    "not_a_server_error",
    "reply_received",
    "run_checks",
    "unescaped_slashes",
]

# request field -> meta field, where the vendor renames it
_META_NAMES: Mapping[str, str] = {"width": "W", "height": "H", "samples": "n_samples"}


@dataclass(frozen=True)
class Reply:
    operation: Operation
    tier: str
    sent: str  # what the request was about, for the finding: `page example`, `steps=51`
    body: Any  # the request body as sent
    exchange: Exchange

    def finding(self, subject: str, constraint: str, outcome: str, provenance: Source = "pages") -> Finding:
        return Finding(
            self.operation.operation_id,
            subject,
            constraint,
            self.sent,
            outcome,
            self.tier,
            provenance,
            exchange=self.exchange.seq,
            curl=self.exchange.curl,
        )


def reply_received(reply: Reply) -> list[Finding]:
    if reply.exchange.error:
        return [reply.finding("reply", "a reply is received", f"got no reply ({reply.exchange.error})")]
    return []


def not_a_server_error(reply: Reply) -> list[Finding]:
    code = reply.exchange.status_code
    if code >= 500:
        return [reply.finding("reply", "not a server error", f"got HTTP {code}")]
    return []


def json_content_type(reply: Reply) -> list[Finding]:
    exchange = reply.exchange
    if exchange.status_code == 0:
        return []
    media_type = exchange.content_type.split(";")[0].strip().lower()
    if media_type != "application/json":
        return [reply.finding("reply", "content type application/json", f"got {media_type or '(none)'!r}")]
    if exchange.json is None:
        got = exchange.json_problem or exchange.show(exchange.text)
        return [reply.finding("reply", "a JSON body", f"got {got}")]
    return []


def branch_conformance(reply: Reply) -> list[Finding]:
    exchange, operation = reply.exchange, reply.operation
    body = exchange.json
    if exchange.status_code == 0 or exchange.status_code >= 500 or body is None:
        return []
    if exchange.status_code != 200:
        if operation.error_schema is None:
            return [reply.finding("reply", "HTTP status documented", f"got HTTP {exchange.status_code}")]
        return _branch_errors(reply, "error", operation.error_schema, body)
    status = body.get("status") if isinstance(body, Mapping) else None
    branch = operation.reply_branches.get(status) if isinstance(status, str) else None
    if branch is None:
        allowed = "|".join(operation.reply_branches)
        return [reply.finding("reply.status", f"enum {allowed}", f"got {reply.exchange.show(status)}")]
    return _branch_errors(reply, str(status), branch, body)


def _branch_errors(reply: Reply, status: str, schema: Mapping[str, Any], body: Any) -> list[Finding]:
    """One finding per broken constraint of the branch; `required` lists carry their own source."""
    found = []
    for error in schema_errors(schema, body):
        required = error.constraint == "required" and "." not in error.parameter
        source = (required_provenance(schema, error.parameter) if required else None) or "pages"
        outcome = "missing" if error.constraint == "required" else f"got {reply.exchange.show(error.value)}"
        found.append(
            reply.finding(f"reply.{error.parameter}", f"{status} branch {error.constraint}", outcome, source)
        )
    return found


def declared_properties(reply: Reply) -> list[Finding]:
    """Top-level reply fields are the ones the branch declares: a typo such as `messege` is flagged."""
    body = reply.exchange.json
    if reply.exchange.status_code != 200 or not isinstance(body, Mapping):
        return []
    branch = reply.operation.reply_branches.get(str(body.get("status")))
    if branch is None:
        return []
    declared = branch.get("properties", {})
    return [
        reply.finding(f"reply.{name}", f"{body['status']} branch declares the property", "undeclared")
        for name in body
        if name not in declared
    ]


def unescaped_slashes(reply: Reply) -> list[Finding]:
    """Plain JSON: `\\/` decodes to `/`, but a client matching on raw text would miss the URLs.

    Inferred: the pages' examples do not escape slashes, but escaped ones are the same JSON.
    """
    if b"\\/" in reply.exchange.content and reply.exchange.json is not None:
        return [reply.finding("reply", "slashes are not escaped in JSON", "got \\/", "inferred")]
    return []


def error_message_present(reply: Reply) -> list[Finding]:
    """An error says what is wrong: its `message` is not empty."""
    body = reply.exchange.json
    if not isinstance(body, Mapping) or body.get("status") != "error" or "message" not in body:
        return []
    message = body["message"]
    if message is None or (isinstance(message, str | list | dict) and not str(message).strip(" []{}")):
        return [
            reply.finding(
                "reply.message", "an error message is not empty", f"got {reply.exchange.show(message)}"
            )
        ]
    return []


def _echo(name: str, sent: Any) -> Any:
    if name == "init_image" and isinstance(sent, list):
        return ",".join(str(item) for item in sent)
    return sent


def meta_echoes_request(reply: Reply) -> list[Finding]:
    """`meta` repeats what was sent, under the vendor's names (H, W, n_samples, init_image joined)."""
    body, sent = reply.exchange.json, reply.body
    if not isinstance(body, Mapping) or body.get("status") not in {"success", "processing"}:
        return []
    meta, branch = body.get("meta"), reply.operation.reply_branches.get(str(body.get("status")), {})
    meta_properties = branch.get("properties", {}).get("meta", {}).get("properties", {})
    if not isinstance(meta, Mapping) or not isinstance(sent, Mapping):
        return []
    if request_violations(reply.operation.request_schema, sent):
        return []  # a body out of contract should have been refused: the acceptance finding says so
    found: list[Finding] = []
    for name, value in sent.items():
        echoed_as = _META_NAMES.get(name, name)
        if name == "key" or echoed_as not in meta_properties or value is None:
            continue
        expected = _echo(name, value)
        if echoed_as not in meta:
            found.append(reply.finding(f"reply.meta.{echoed_as}", f"echoes {name}", "missing"))
        elif meta[echoed_as] != expected or type(meta[echoed_as]) is bool:
            found.append(
                reply.finding(
                    f"reply.meta.{echoed_as}",
                    f"echoes {name}",
                    f"expected {render_value(expected)}, got {reply.exchange.show(meta[echoed_as])}",
                )
            )
    return found


Check = Callable[[Reply], list[Finding]]
# Every reply is asked these, in this order; the name is the check's row in the reports.
CHECKS: tuple[tuple[str, Check], ...] = (
    ("a reply is received", reply_received),
    ("not a server error", not_a_server_error),
    ("a JSON reply", json_content_type),
    ("the reply matches the branch its status names", branch_conformance),
    ("only declared top-level fields", declared_properties),
    ("meta echoes the request", meta_echoes_request),
    ("an error message is not empty", error_message_present),
    ("slashes are not escaped", unescaped_slashes),
)


def run_checks(reply: Reply) -> list[tuple[str, list[Finding]]]:
    """Each check's name and its findings on `reply` (an empty list: it holds)."""
    return [(name, check(reply)) for name, check in CHECKS]
