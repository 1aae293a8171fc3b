"""The four tiers and the webhook stage: which cases each sends and what it follows up on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.boundaries import base_body, ranges_cases
from conformance.cases import WRONG_KEY, Case, render_value
from conformance.checks import Reply, run_checks
from conformance.config import AuditConfig
from conformance.fuzz import fuzz_cases
from conformance.images import check_outputs
from conformance.jobs import PollPolicy, follow_job, linked_id
from conformance.judge import Judge
from conformance.webhooks import check_delivery, receiving
from openapi.operations import Operation

__all__ = ["TIER_RUNNERS", "Context", "run_webhooks"]

UNKNOWN_ID = "999999999"


@dataclass
class Context:
    config: AuditConfig
    operations: list[Operation]
    judge: Judge
    policy: PollPolicy
    job_ids: dict[str, Any] = field(default_factory=dict)  # fetch operationId -> an id a create returned

    def fetch_for(self, operation: Operation) -> Operation | None:
        if operation.link is None:
            return None
        for candidate in self.operations:
            if candidate.operation_id == operation.link.operation_id:
                return candidate
        return None


def _complete(ctx: Context, reply: Reply) -> Mapping[str, Any] | None:
    """Follows a create reply to its end (polling when processing) and checks the output images."""
    body = reply.exchange.json
    if not isinstance(body, Mapping) or body.get("status") not in {"success", "processing"}:
        return None
    fetch = ctx.fetch_for(reply.operation)
    job_id = linked_id(reply.operation, body)
    if fetch is not None and job_id is not None:
        ctx.job_ids[fetch.operation_id] = job_id
    final: Mapping[str, Any] | None = body
    if body.get("status") == "processing":
        if fetch is None:
            return None
        outcome = follow_job(ctx.judge.client, reply, fetch, ctx.policy)
        ctx.judge.add(outcome.findings)
        final = outcome.final
    if final is not None and final.get("status") == "success" and isinstance(final.get("output"), list):
        ctx.judge.add(check_outputs(ctx.judge.client, reply, final["output"]))
    return final


def _example_case(operation: Operation, tier: str, **changes: Any) -> Case:
    body = {**base_body(operation), **changes.pop("body", {})}
    return Case(operation, tier, "(body)", "page example", body, body, **changes)


def smoke(ctx: Context) -> None:
    """One valid call per operation: the page example, followed to its images."""
    for operation in ctx.operations:
        if operation.kind == "create":
            ctx.judge.progress(f"smoke    {operation.operation_id}")
            _complete(ctx, ctx.judge.judge(_example_case(operation, "smoke")))
    for operation in ctx.operations:
        if operation.kind == "fetch":
            ctx.judge.progress(f"smoke    {operation.operation_id}")
            job_id = ctx.job_ids.get(operation.operation_id, UNKNOWN_ID)
            reply = ctx.judge.judge(_fetch_case(operation, "smoke", job_id))
            _fetch_answers(ctx, reply)


def _fetch_case(operation: Operation, tier: str, job_id: Any, **changes: Any) -> Case:
    derived = str(job_id) != UNKNOWN_ID
    return Case(
        operation,
        tier,
        "id",
        "path parameter",
        job_id,
        {},
        path_parameters={"id": str(job_id)},
        derived=derived,
        **changes,
    )


def _fetch_answers(ctx: Context, reply: Reply) -> None:
    body = reply.exchange.json
    if isinstance(body, Mapping) and body.get("status") == "error":
        ctx.judge.add([reply.finding("fetch", "a valid key is accepted", f"got {render_value(body, 60)}")])


def ranges(ctx: Context) -> None:
    """Boundary cases: each documented limit, on it (accepted) and just outside (rejected)."""
    for operation in ctx.operations:
        cases = ranges_cases(operation)
        for index, case in enumerate(cases, start=1):
            ctx.judge.progress(f"ranges   {operation.operation_id} {index}/{len(cases)}")
            ctx.judge.judge(case)


def full(ctx: Context) -> None:
    """Schemathesis fuzzing, positive and negative, judged by the same oracle as the ranges tier."""
    cases = fuzz_cases(ctx.operations, ctx.config.fuzz_examples, ctx.config.seed)
    for index, case in enumerate(cases, start=1):
        ctx.judge.progress(f"full     {case.operation.operation_id} {index}/{len(cases)}")
        ctx.judge.judge(case)


def stateful(ctx: Context) -> None:
    """Submit -> fetch through the spec's link: the job ends, fetch agrees, keys and unknown ids."""
    headers = {"Prefer": ctx.config.prefer} if ctx.config.prefer else {}
    for operation in ctx.operations:
        fetch = ctx.fetch_for(operation)
        if operation.kind != "create" or fetch is None:
            continue
        ctx.judge.progress(f"stateful {operation.operation_id} -> {fetch.operation_id}")
        reply = ctx.judge.judge(_example_case(operation, "stateful", headers=headers))
        final = _complete(ctx, reply)
        job_id = linked_id(operation, reply.exchange.json)
        if job_id is None:
            continue
        again = ctx.judge.judge(_fetch_case(fetch, "stateful", job_id))
        _fetch_agrees(ctx, again, final)
        wrong_key = ctx.judge.judge(_fetch_case(fetch, "stateful", job_id, key_override=WRONG_KEY))
        _fetch_rejects_wrong_key(ctx, wrong_key)
        unknown = ctx.judge.judge(_fetch_case(fetch, "stateful", UNKNOWN_ID))
        _fetch_unknown_fails(ctx, unknown)


def _status(reply: Reply) -> Any:
    body = reply.exchange.json
    return body.get("status") if isinstance(body, Mapping) else None


def _fetch_agrees(ctx: Context, reply: Reply, final: Mapping[str, Any] | None) -> None:
    _fetch_answers(ctx, reply)
    body = reply.exchange.json
    if final is None or final.get("status") != "success" or _status(reply) != "success":
        return
    if isinstance(body, Mapping) and body.get("output") != final.get("output"):
        ctx.judge.add(
            [
                reply.finding(
                    "fetch.output",
                    "is the finished job's output",
                    f"expected {render_value(final.get('output'))}, got {render_value(body.get('output'))}",
                )
            ]
        )


def _fetch_rejects_wrong_key(ctx: Context, reply: Reply) -> None:
    if reply.exchange.status_code < 400 and _status(reply) != "error":
        ctx.judge.add([reply.finding("key", "valid key", f"with a wrong key, got {_status(reply)!r}")])


def _fetch_unknown_fails(ctx: Context, reply: Reply) -> None:
    if _status(reply) != "failed" and reply.exchange.status_code != 404:
        ctx.judge.add(
            [
                reply.finding(
                    "id",
                    "an unknown id gives status failed",
                    f"got {render_value(reply.exchange.json, 60)}",
                )
            ]
        )


def _track_id(operation: Operation) -> Any:
    declared = operation.property_schemas.get("track_id", {}).get("type", [])
    return 4242 if "integer" in declared else "audit-4242"


def run_webhooks(ctx: Context) -> None:
    """Each create operation with `webhook` + `track_id`; the payload must match the spec's webhook."""
    config = ctx.config
    with receiving(config.webhook_bind, config.webhook_host) as receiver:
        for operation in ctx.operations:
            if operation.kind != "create" or not operation.webhook_branches:
                continue
            ctx.judge.progress(f"webhooks {operation.operation_id}")
            token, track_id = operation.operation_id, _track_id(operation)
            case = _example_case(
                operation,
                "webhooks",
                body={"webhook": receiver.url(token), "track_id": track_id},
                derived=True,
            )
            reply = ctx.judge.send(case)
            ctx.judge.add(run_checks(reply))
            if _status(reply) not in {"success", "processing"}:
                continue
            _complete(ctx, reply)
            delivery = receiver.wait_for(token, config.webhook_timeout)
            job_id = linked_id(operation, reply.exchange.json)
            ctx.judge.add(check_delivery(reply, delivery, track_id, job_id))


TIER_RUNNERS: Mapping[str, Callable[[Context], None]] = {
    "smoke": smoke,
    "ranges": ranges,
    "full": full,
    "stateful": stateful,
}
