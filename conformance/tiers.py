"""The tiers: which cases each sends and what it follows up on (stateful and webhooks in their modules)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from conformance.boundaries import ranges_cases
from conformance.context import UNKNOWN_ID, Context, ends_in_success, example_case, fetch_refusals, refetch
from conformance.fuzz import fuzz_cases
from conformance.jobs import Job, finish, follow, start
from conformance.oracle import request_violations
from conformance.stateful import stateful
from conformance.webhooks import run_webhooks

__all__ = ["STAGES", "TIER_RUNNERS"]

PAGE_EXAMPLE_ENDS = "the page example's job ends in success"
VALID_JOB_ENDS = "a valid request's job ends in success"
INSTANT_FETCH = "a job that finished at once can be fetched"


def smoke(ctx: Context) -> None:
    """One valid call per operation: the page example, followed to its images; each fetch once."""
    finished: dict[str, Job] = {}
    for operation in ctx.operations:
        if operation.kind != "create":
            continue
        reply = ctx.judge.judge(example_case(operation, "smoke"))
        job = start(ctx.judge, reply, ctx.fetch_of(operation))
        if job is None:
            continue
        follow(ctx.judge, [job], ctx.policy)
        finish(ctx.judge, job)
        ends_in_success(ctx, job, PAGE_EXAMPLE_ENDS)
        if job.fetch is not None and job.status == "success":
            finished[job.fetch.operation_id] = job
    for operation in ctx.operations:
        if operation.kind != "fetch":
            continue
        job = finished.get(operation.operation_id)
        if job is not None:
            refetch(ctx, job, INSTANT_FETCH if job.polls == 0 else "a finished job stays fetchable")
        else:
            fetch_refusals(ctx, operation, "smoke", UNKNOWN_ID)


def ranges(ctx: Context) -> None:
    """Boundary cases: each limit on it (accepted) and just outside (rejected); accepted jobs followed."""
    jobs: list[Job] = []
    for operation in ctx.operations:
        for case in ranges_cases(operation):
            reply = ctx.judge.judge(case)
            job = start(ctx.judge, reply, ctx.fetch_of(operation))
            keyed = case.key_override is None and not case.omit_key
            if job is not None and keyed and not request_violations(operation.request_schema, reply.body):
                jobs.append(job)
    follow(ctx.judge, jobs, ctx.policy)
    for job in jobs:
        finish(ctx.judge, job)
        ends_in_success(ctx, job, VALID_JOB_ENDS)


def full(ctx: Context) -> None:
    """Schemathesis fuzzing, positive and negative, judged by the same oracle as the ranges tier."""
    for case in fuzz_cases(ctx.operations, ctx.config.fuzz_examples, ctx.config.seed):
        ctx.judge.judge(case)


TIER_RUNNERS: Mapping[str, Callable[[Context], None]] = {
    "smoke": smoke,
    "ranges": ranges,
    "full": full,
    "stateful": stateful,
}
# Everything a run can do, in order: the tiers, then the webhook stage (--webhooks).
STAGES: Mapping[str, Callable[[Context], None]] = {**TIER_RUNNERS, "webhooks": run_webhooks}
