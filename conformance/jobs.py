"""Following jobs from their create replies to their end, through the spec's link and `fetch_result`.

Several jobs are followed at once, polled in turn, so a fetch that answers another job than the one
asked for shows. A finished job's images are downloaded and checked (conformance.images).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from conformance.cases import KEY_MARKER, render_value
from conformance.checks import Reply
from conformance.images import Download, check_outputs
from openapi.operations import Operation

if TYPE_CHECKING:
    from conformance.judge import Judge

__all__ = ["IMAGES", "Job", "PollPolicy", "complete", "finish", "follow", "linked_id", "start"]

IMAGES = "output images: count, format and size"
FETCH_RESULT = "fetch_result points at the job's fetch on the audited origin"
FETCHED = "fetch answers the job asked for"
ENDS = "a job reaches success or failed in time"


@dataclass(frozen=True)
class PollPolicy:
    timeout: float = 60.0  # how long to wait while none of the followed jobs ends
    interval: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass
class Job:
    """A job some create reply started: followed to `final` (its success or failed body)."""

    reply: Reply  # the create reply
    fetch: Operation | None
    job_id: Any
    final: Mapping[str, Any] | None = None
    polls: int = 0
    downloads: list[Download] = field(default_factory=list)

    @property
    def status(self) -> Any:
        return self.final.get("status") if self.final is not None else None

    @property
    def output(self) -> Any:
        return self.final.get("output") if self.final is not None else None


def linked_id(operation: Operation, body: Any) -> Any:
    """The value the spec's link takes from a create reply (`$response.body#/id`)."""
    if operation.link is None or not isinstance(body, Mapping):
        return None
    value: Any = body
    for part in operation.link.pointer.strip("/").split("/"):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def start(judge: Judge, reply: Reply, fetch: Operation | None) -> Job | None:
    """The job a create reply started (None when it was refused); final at once unless processing."""
    body = reply.exchange.json
    if not isinstance(body, Mapping) or body.get("status") not in {"success", "processing", "failed"}:
        return None
    job = Job(reply, fetch, linked_id(reply.operation, body))
    if body.get("status") != "processing":
        job.final = body
    elif fetch is not None:
        _check_fetch_result(judge, job)
    return job


def _poll_url(job: Job) -> str:
    assert job.fetch is not None
    assert job.reply.operation.link is not None
    return job.fetch.url_path({job.reply.operation.link.parameter: quote(str(job.job_id), safe="")})


def poll(judge: Judge, job: Job, url: str) -> tuple[Reply, Any]:
    """One fetch of a job; the reply is checked against the fetch operation's contract."""
    assert job.fetch is not None
    exchange = judge.client.post_json(url, judge.client.key_body())
    fetched = Reply(
        job.fetch, job.reply.tier, f"id={render_value(job.job_id)}", {"key": KEY_MARKER}, exchange
    )
    judge.check(fetched)
    return fetched, exchange.json


def _check_fetch_result(judge: Judge, job: Job) -> None:
    """`fetch_result` is the linked fetch of this job, on the audited origin, and it answers."""
    reply, fetch = job.reply, job.fetch
    value = reply.exchange.json.get("fetch_result")
    operation = reply.operation.operation_id
    if not isinstance(value, str) or fetch is None or job.job_id is None:
        judge.record(operation, reply.tier, FETCH_RESULT, [])
        return
    found = []
    linked = _poll_url(job)
    if urlsplit(value).path != linked:
        outcome = f"expected a URL ending {linked}, got {value}"
        found.append(reply.finding("reply.fetch_result", "is the linked fetch URL", outcome))
    if not judge.client.same_origin(value):
        outcome = f"expected a URL on {judge.client.origin}, got {value}"
        found.append(reply.finding("reply.fetch_result", "is on the audited origin", outcome))
    else:
        fetched, body = poll(judge, job, value)
        status = body.get("status") if isinstance(body, Mapping) else None
        if fetched.exchange.status_code != 200 or status not in fetch.reply_branches or status == "error":
            got = (
                fetched.exchange.error
                or f"HTTP {fetched.exchange.status_code} {fetched.exchange.show(body, 60)}"
            )
            found.append(
                reply.finding("reply.fetch_result", "answers like the fetch operation", f"got {got}")
            )
        elif status in {"success", "failed"}:
            job.final = body
            job.polls += 1
    judge.record(operation, reply.tier, FETCH_RESULT, found)


def _ended(judge: Judge, job: Job, fetched: Reply, body: Any, deadline: float, policy: PollPolicy) -> bool:
    """Reads one poll: True when the job is over (ended, or no longer answered as processing)."""
    operation = job.reply.operation.operation_id
    status = body.get("status") if isinstance(body, Mapping) else None
    if status in {"success", "failed"}:
        job.final = body
        return True
    if status != "processing":
        shown = fetched.exchange.show(body, 60) if body is not None else fetched.exchange.error or "no JSON"
        outcome = f"got {shown}"
        judge.record(
            operation, job.reply.tier, ENDS, [fetched.finding("fetch", "a known id is answered", outcome)]
        )
        return True
    if policy.clock() >= deadline:
        outcome = f"still processing after {job.polls} polls"
        finding = job.reply.finding("job", f"reaches success or failed within {policy.timeout:g}s", outcome)
        judge.record(operation, job.reply.tier, ENDS, [finding])
        return True
    return False


def follow(judge: Judge, jobs: list[Job], policy: PollPolicy) -> None:
    """Polls every processing job in turn until each has ended or the queue stalls.

    `policy.timeout` is how long the audit waits without any of the jobs ending: a target working
    through a long queue (a real engine) keeps the jobs alive; one that never finishes them is reported.
    Between rounds the wait grows by half, up to 10 s, so a long queue is not polled flat out.
    """
    pending = [job for job in jobs if job.final is None and job.fetch is not None and job.job_id is not None]
    deadline, wait = policy.clock() + policy.timeout, policy.interval
    while pending:
        still = []
        for job in pending:
            fetched, body = poll(judge, job, judge.client.origin + _poll_url(job))
            job.polls += 1
            if not _ended(judge, job, fetched, body, deadline, policy):
                still.append(job)
        if len(still) < len(pending):
            deadline = policy.clock() + policy.timeout
        pending = still
        if pending:
            policy.sleep(min(wait, max(deadline - policy.clock(), 0.0)))
            wait = min(wait * 1.5, max(policy.interval, 10.0))
    for job in jobs:
        if job.final is not None and job.polls:
            judge.record(job.reply.operation.operation_id, job.reply.tier, ENDS, [])
            _check_fetched(judge, job)


def _check_fetched(judge: Judge, job: Job) -> None:
    """The fetched success is this job: its id, and the URLs its processing reply promised."""
    reply, final, found = job.reply, job.final, []
    if final is None or final.get("status") != "success":
        return
    if final.get("id") != job.job_id:
        outcome = f"expected {render_value(job.job_id)}, got {reply.exchange.show(final.get('id'))}"
        found.append(reply.finding("fetch.id", "is the job's id", outcome))
    future = reply.exchange.json.get("future_links")
    if isinstance(future, list) and future != final.get("output"):
        outcome = f"expected {reply.exchange.show(future)}, got {reply.exchange.show(final.get('output'))}"
        found.append(reply.finding("reply.future_links", "equal the finished job's output", outcome))
    judge.record(reply.operation.operation_id, reply.tier, FETCHED, found)


def finish(judge: Judge, job: Job) -> None:
    """Downloads a successful job's images and checks them; records a skip for hosts not allowed."""
    operation, tier = job.reply.operation.operation_id, job.reply.tier
    output = job.output
    if job.status != "success":
        return
    if not isinstance(output, list):
        judge.record(operation, tier, IMAGES, [])  # the branch check reports the shape
        return
    found, job.downloads = check_outputs(judge.client, job.reply, output)
    skipped = next((item.exchange.skipped for item in job.downloads if item.exchange.skipped), "")
    if skipped and not found:
        judge.skip(operation, tier, IMAGES, skipped)
    else:
        judge.record(operation, tier, IMAGES, found)


def complete(judge: Judge, reply: Reply, fetch: Operation | None, policy: PollPolicy) -> Job | None:
    """One create reply followed to its end and its images checked; None when it was not accepted."""
    job = start(judge, reply, fetch)
    if job is None:
        return None
    follow(judge, [job], policy)
    finish(judge, job)
    return job
