"""The stateful tier: scenarios over several requests, per create operation.

- Two queued jobs at once (the `--prefer` header asks the mock for `processing`; other targets may
  ignore it), followed together: each fetch answers the job asked for, each job ends in success and
  its images match, a finished job stays fetchable (fetched twice more), fetch refuses a wrong key and
  answers an unknown id with `failed`.
- Seeds: the same request with the same seed twice gives identical image bytes, another seed other
  bytes, and seed 0 is a seed like any other (two requests with it agree).
"""

from __future__ import annotations

from typing import Any

from conformance.boundaries import base_body
from conformance.cases import Case
from conformance.context import UNKNOWN_ID, Context, ends_in_success, example_case, fetch_refusals, refetch
from conformance.jobs import Job, finish, follow, start
from openapi.operations import Operation

__all__ = ["SEED_CHECKS", "stateful"]

QUEUED_ENDS = "a queued job ends in success"
SAME_SEED = "the same seed gives the same images"
OTHER_SEED = "another seed gives other images"
SEED_ZERO = "seed 0 is a seed: two requests with it give the same images"
SEED_CHECKS = (SAME_SEED, OTHER_SEED, SEED_ZERO)


def _two_jobs(ctx: Context, operation: Operation, fetch: Operation) -> list[Job]:
    headers = {"Prefer": ctx.config.prefer} if ctx.config.prefer else {}
    base = base_body(operation)
    other = {"seed": _seed(base) + 1, "prompt": f"{base.get('prompt', 'rose')} again"}
    replies = [
        ctx.judge.judge(example_case(operation, "stateful", headers=headers)),
        ctx.judge.judge(example_case(operation, "stateful", headers=headers, body=other)),
    ]
    jobs = [job for reply in replies if (job := start(ctx.judge, reply, fetch)) is not None]
    follow(ctx.judge, jobs, ctx.policy)
    for job in jobs:
        finish(ctx.judge, job)
        ends_in_success(ctx, job, QUEUED_ENDS)
    return jobs


def _seed(body: dict[str, Any]) -> int:
    seed = body.get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else 12345


def _images(job: Job | None) -> bytes | None:
    """The bytes of all of a successful job's images, or None when they could not all be read."""
    if job is None or job.status != "success" or not job.downloads:
        return None
    if any(not item.content for item in job.downloads):
        return None
    return b"".join(item.content for item in job.downloads)


def _seeds(ctx: Context, operation: Operation, fetch: Operation | None) -> None:
    base = base_body(operation)
    seed = _seed(base)
    plan = [("same", seed, 0), ("same", seed, 1), ("other", seed + 1, 0), ("zero", 0, 0), ("zero", 0, 1)]
    jobs: list[Job | None] = []
    for name, value, attempt in plan:
        body = {**base, "seed": value}
        case = Case(operation, "stateful", "seed", f"{name} seed", value, body, attempt=attempt)
        jobs.append(start(ctx.judge, ctx.judge.judge(case), fetch))
    follow(ctx.judge, [job for job in jobs if job is not None], ctx.policy)
    for job in jobs:
        if job is not None:
            finish(ctx.judge, job)
    images = [_images(job) for job in jobs]
    pairs = ((SAME_SEED, 0, 1, True), (OTHER_SEED, 0, 2, False), (SEED_ZERO, 3, 4, True))
    for check, first, second, equal in pairs:
        one, two, reply = images[first], images[second], (jobs[second] or jobs[first])
        if one is None or two is None or reply is None:
            ctx.judge.skip(operation.operation_id, "stateful", check, "the images could not be downloaded")
            continue
        found = []
        if (one == two) != equal:
            outcome = f"seed {plan[first][1]} and seed {plan[second][1]}: " + (
                "the images differ" if equal else "identical images"
            )
            found.append(reply.reply.finding("seed", check, outcome))
        ctx.judge.record(operation.operation_id, "stateful", check, found)


def stateful(ctx: Context) -> None:
    """Submit -> fetch through the spec's link for two jobs at once; then the seed scenarios."""
    for operation in ctx.operations:
        fetch = ctx.fetch_of(operation)
        if operation.kind != "create" or fetch is None:
            continue
        jobs = _two_jobs(ctx, operation, fetch)
        if jobs:
            refetch(ctx, jobs[0])
            refetch(ctx, jobs[0], attempt=1)
        known = jobs[0].job_id if jobs and jobs[0].job_id is not None else UNKNOWN_ID
        fetch_refusals(ctx, fetch, "stateful", known)
    for operation in ctx.operations:
        if operation.kind == "create":
            _seeds(ctx, operation, ctx.fetch_of(operation))
