"""What every tier works with: the run's settings, the chosen operations, the judge, the poll policy;
and the cases and fetch checks the tiers share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from conformance.boundaries import base_body
from conformance.cases import WRONG_KEY, Case, render_value
from conformance.checks import Reply
from conformance.config import AuditConfig
from conformance.jobs import Job, PollPolicy
from conformance.judge import Judge
from openapi.operations import Operation, load_operations

__all__ = [
    "UNKNOWN_ID",
    "Context",
    "ends_in_success",
    "example_case",
    "fetch_case",
    "fetch_refusals",
    "refetch",
    "status_of",
]

UNKNOWN_ID = "999999999"
REFETCH = "a finished job stays fetchable"
FETCH_CHECKS = "fetch refuses a wrong key and answers an unknown id with failed"


@dataclass
class Context:
    config: AuditConfig
    operations: list[Operation]
    judge: Judge
    policy: PollPolicy

    def fetch_for(self, operation: Operation) -> Operation | None:
        if operation.link is None:
            return None
        return next((op for op in self.operations if op.operation_id == operation.link.operation_id), None)

    def fetch_of(self, operation: Operation) -> Operation | None:
        """The create operation's fetch, whether or not it is audited (jobs are followed through it)."""
        if operation.link is None:
            return None
        every = load_operations([operation.spec])
        return next((op for op in every if op.operation_id == operation.link.operation_id), None)


def example_case(operation: Operation, tier: str, **changes: Any) -> Case:
    """The page example (with `body` changes), labelled as such."""
    body = {**base_body(operation), **changes.pop("body", {})}
    return Case(operation, tier, "(body)", "page example", body, body, **changes)


def fetch_case(operation: Operation, tier: str, job_id: Any, **changes: Any) -> Case:
    derived = str(job_id) != UNKNOWN_ID
    path = {"id": quote(str(job_id), safe="")}
    return Case(
        operation, tier, "id", "path parameter", job_id, {}, path_parameters=path, derived=derived, **changes
    )


def status_of(reply: Reply) -> Any:
    body = reply.exchange.json
    return body.get("status") if isinstance(body, Mapping) else None


def refetch(ctx: Context, job: Job, check: str = REFETCH, attempt: int = 0) -> None:
    """A finished job fetched again by its id: success, the same id and the same output."""
    if job.fetch is None or job.job_id is None or job.status != "success":
        return
    reply = ctx.judge.judge(fetch_case(job.fetch, job.reply.tier, job.job_id, attempt=attempt))
    body, found = reply.exchange.json, []
    if status_of(reply) != "success":
        outcome = (
            f"got {reply.exchange.show(body, 60) if body is not None else reply.exchange.error or 'no JSON'}"
        )
        found.append(reply.finding("job", check, outcome))
    elif isinstance(body, Mapping) and (body.get("id") != job.job_id or body.get("output") != job.output):
        shown = {"id": body.get("id"), "output": body.get("output")}
        expected = {"id": job.job_id, "output": job.output}
        outcome = f"expected {render_value(expected, 60)}, got {reply.exchange.show(shown, 60)}"
        found.append(reply.finding("job", check, outcome))
    ctx.judge.record(job.fetch.operation_id, job.reply.tier, check, found)


def fetch_refusals(ctx: Context, fetch: Operation, tier: str, job_id: Any) -> None:
    """Fetch with a wrong key is refused; an unknown id is answered `failed` (or 404)."""
    found = []
    wrong_key = ctx.judge.judge(fetch_case(fetch, tier, job_id, key_override=WRONG_KEY))
    if wrong_key.exchange.status_code < 400 and status_of(wrong_key) != "error":
        found.append(wrong_key.finding("key", "valid key", f"with a wrong key, got {status_of(wrong_key)!r}"))
    unknown = ctx.judge.judge(fetch_case(fetch, tier, UNKNOWN_ID))
    if status_of(unknown) != "failed" and unknown.exchange.status_code != 404:
        outcome = f"got {unknown.exchange.show(unknown.exchange.json, 60)}"
        found.append(unknown.finding("id", "an unknown id gives status failed", outcome))
    if status_of(unknown) == "error":
        outcome = f"got {unknown.exchange.show(unknown.exchange.json, 60)}"
        found.append(unknown.finding("fetch", "a valid key is accepted", outcome))
    ctx.judge.record(fetch.operation_id, tier, FETCH_CHECKS, found)


def ends_in_success(ctx: Context, job: Job, check: str) -> None:
    """A job whose request was in contract ends in `success`: a target whose jobs fail is not conformant."""
    if job.final is None:
        return  # still processing: the timeout finding says so
    found = []
    if job.status != "success":
        message = job.final.get("message", job.final.get("messege", ""))
        found.append(job.reply.finding("job", check, f"ended {job.status}: {message}"))
    ctx.judge.record(job.reply.operation.operation_id, job.reply.tier, check, found)
