"""Following a job from the create reply to its end through the spec's link and `fetch_result`."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from conformance.cases import render_value
from conformance.checks import Reply, run_checks
from conformance.client import AuditClient, Exchange
from conformance.findings import Finding
from openapi.operations import Operation

__all__ = ["JobOutcome", "PollPolicy", "follow_job", "linked_id"]


@dataclass(frozen=True)
class PollPolicy:
    timeout: float = 60.0  # a processing job must end within this many seconds
    interval: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass
class JobOutcome:
    findings: list[Finding]
    final: Mapping[str, Any] | None  # the success or failed body that ended the job
    polls: int = 0


def linked_id(operation: Operation, body: Any) -> Any:
    """The value the spec's link takes from a create reply (`$response.body#/id`)."""
    if operation.link is None or not isinstance(body, Mapping):
        return None
    value: Any = body
    for part in operation.link.pointer.strip("/").split("/"):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _poll(client: AuditClient, fetch: Operation, reply: Reply, url: str, job_id: Any) -> tuple[Reply, Any]:
    exchange: Exchange = client.post_json(url, client.key_body())
    poll = Reply(fetch, reply.tier, f"id={render_value(job_id)}", client.key_body(), exchange)
    return poll, exchange.json


def _fetch_result_works(
    client: AuditClient, fetch: Operation, reply: Reply, linked_path: str, job_id: Any
) -> list[Finding]:
    value = reply.exchange.json.get("fetch_result")
    if not isinstance(value, str):
        return []
    found: list[Finding] = []
    if urlsplit(value).path != linked_path:
        found.append(
            reply.finding(
                "reply.fetch_result",
                "is the linked fetch URL",
                f"expected a URL ending {linked_path}, got {value}",
            )
        )
    if not client.same_origin(value):
        return found
    poll, body = _poll(client, fetch, reply, value, job_id)
    found.extend(run_checks(poll))
    status = body.get("status") if isinstance(body, Mapping) else None
    if poll.exchange.status_code != 200 or status not in fetch.reply_branches or status == "error":
        got = poll.exchange.error or f"HTTP {poll.exchange.status_code} {render_value(body, 60)}"
        found.append(reply.finding("reply.fetch_result", "answers like the fetch operation", f"got {got}"))
    return found


def follow_job(client: AuditClient, reply: Reply, fetch: Operation, policy: PollPolicy) -> JobOutcome:
    """Polls a processing job until success or failed, checking every fetch reply on the way."""
    body = reply.exchange.json
    if not isinstance(body, Mapping) or body.get("status") != "processing":
        return JobOutcome([], body if isinstance(body, Mapping) else None)
    job_id, operation = linked_id(reply.operation, body), reply.operation
    if job_id is None or operation.link is None:
        return JobOutcome([reply.finding("reply.id", "links to the fetch operation", "missing")], None)
    linked_path = fetch.url_path({operation.link.parameter: str(job_id)})
    findings = _fetch_result_works(client, fetch, reply, linked_path, job_id)
    deadline, polls = policy.clock() + policy.timeout, 0
    while True:
        poll, polled = _poll(client, fetch, reply, client.origin + linked_path, job_id)
        polls += 1
        findings.extend(run_checks(poll))
        status = polled.get("status") if isinstance(polled, Mapping) else None
        if status in {"success", "failed"} and isinstance(polled, Mapping):
            return JobOutcome(findings + _ending(reply, polled, job_id), polled, polls)
        if status != "processing":
            findings.append(
                poll.finding(
                    "fetch", "a known id with a valid key is answered", f"got {render_value(polled, 60)}"
                )
            )
            return JobOutcome(findings, None, polls)
        if policy.clock() >= deadline:
            findings.append(
                reply.finding(
                    "job",
                    f"reaches success or failed within {policy.timeout:g}s",
                    f"still processing after {polls} polls",
                )
            )
            return JobOutcome(findings, None, polls)
        policy.sleep(policy.interval)


def _ending(reply: Reply, final: Mapping[str, Any], job_id: Any) -> list[Finding]:
    found: list[Finding] = []
    if final.get("status") != "success":
        return found
    if final.get("id") != job_id:
        found.append(
            reply.finding(
                "fetch.id",
                "is the job's id",
                f"expected {render_value(job_id)}, got {render_value(final.get('id'))}",
            )
        )
    future = reply.exchange.json.get("future_links")
    if isinstance(future, list) and future != final.get("output"):
        found.append(
            reply.finding(
                "reply.future_links",
                "equal the finished job's output",
                f"expected {render_value(future)}, got {render_value(final.get('output'))}",
            )
        )
    return found
