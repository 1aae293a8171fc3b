"""Webhook delivery: the vendor's payload POSTed when a job finishes, retried with backoff, each try logged.

A delivery is written to the job store's SQLite file when the job is accepted, so a restarted server (or
another worker) resumes it. URLs are only called on allowed hosts (loopback by default); any other is
logged as refused and never contacted, so the mock cannot be turned into a way to reach other machines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from mock_server.parsing import HostAllowList
from mock_server.services.deliveries import Attempt, Deliveries, Delivery
from mock_server.state.clock import Clock
from mock_server.state.jobs import Job, StoreUnavailableError
from openapi.vocabulary import failed_job_message

__all__ = ["DEFAULT_ALLOWED", "WebhookDispatcher", "WebhookPolicy", "payload_for", "refusal"]

log = logging.getLogger("mixmock.webhooks")
DEFAULT_ALLOWED = ("localhost", "127.0.0.0/8", "::1")
JobLookup = Callable[[int], Awaitable[Job | None]]  # the job now, finished first when its time has come


@dataclass(frozen=True)
class WebhookPolicy:
    allow_hosts: tuple[str, ...] = DEFAULT_ALLOWED  # host names, `*.suffix`, IP networks, or `*` for any
    retry_for_s: float = 300.0  # keep retrying this long after the job finished
    first_delay_s: float = 1.0  # the wait after the first failed attempt; doubles after each one
    max_delay_s: float = 60.0
    timeout_s: float = 10.0  # per attempt; the vendor asks receivers to answer within 30 s
    hosts: HostAllowList = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("retry_for_s", "first_delay_s", "max_delay_s", "timeout_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"WebhookPolicy.{name} must be 0 or more, got {getattr(self, name)!r}")
        object.__setattr__(self, "hosts", HostAllowList.parse(self.allow_hosts, "allowed webhook host"))

    def delay_after(self, failures: int) -> float:
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** max(failures - 1, 0)))


def refusal(url: str, policy: WebhookPolicy) -> str | None:
    """Why the mock will not call `url`, or None. Names are matched as written, never resolved."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return f"webhook URL {url!r} is not a valid URL"
    if parts.scheme not in {"http", "https"}:
        return f"webhook URL {url!r} is not http or https"
    if not host:
        return f"webhook URL {url!r} has no host"
    if not policy.hosts.allows_name(host):
        allowed = ", ".join(policy.allow_hosts) or "(none)"
        return f"host {host!r} is not an allowed webhook host (allowed: {allowed})"
    return None


def payload_for(job: Job) -> dict[str, Any]:
    """The vendor's webhook body: the finished reply plus `track_id`, with the JSON type it was sent with."""
    if job.state == "success":
        return {
            "status": "success",
            "id": job.id,
            "output": list(job.output),
            "generationTime": job.generation_time,
            "meta": dict(job.meta),
            "track_id": job.track_id,
        }
    message = job.message or failed_job_message()
    return {"status": "failed", "id": job.id, "message": message, "track_id": job.track_id}


Outcome = Literal["delivered", "retry", "gave_up"]


class WebhookDispatcher:
    """Schedules deliveries when jobs are accepted and sends them once their jobs are done."""

    def __init__(
        self,
        deliveries: Deliveries,
        policy: WebhookPolicy,
        clock: Clock,
        lookup: JobLookup,
        client: httpx.AsyncClient | None = None,
        poll_s: float = 0.5,
    ) -> None:
        self.deliveries = deliveries
        self.policy = policy
        self.clock = clock
        self._lookup = lookup
        self._client = client or httpx.AsyncClient(follow_redirects=False, trust_env=False)
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        # Told when a round meets a store outage (logged once there), instead of a traceback per round.
        self.on_store_error: Callable[[StoreUnavailableError], None] | None = None

    def schedule(self, job: Job) -> Delivery | None:
        """Record the delivery of a job that carries a webhook (refused ones are logged, never sent)."""
        if not job.webhook:
            return None
        now = self.clock.now()
        why = refusal(job.webhook, self.policy)
        if why is not None:
            log.warning("webhook for job %s refused: %s", job.id, why)
            refused = Attempt(now, None, f"refused: {why}")
            return self.deliveries.add(
                job.id, job.webhook, created_at=now, next_at=now, state="refused", attempt=refused
            )
        due = job.ready_at if job.state == "processing" and job.ready_at is not None else now
        if due <= now:
            self._wake.set()
        return self.deliveries.add(job.id, job.webhook, created_at=now, next_at=due, state="pending")

    async def job_finished(self, job: Job) -> None:
        """A job listener: deliver now rather than at the next poll."""
        if job.webhook and self.deliveries.hasten(job.id, self.clock.now()):
            self._wake.set()

    async def run_due(self) -> int:
        """Attempt every delivery that is due (claimed first, so workers never send one twice)."""
        now = self.clock.now()
        claimed = self.deliveries.claim_due(now, lease_s=self.policy.timeout_s + 5.0)
        results = await asyncio.gather(*(self._attempt(delivery) for delivery in claimed))
        return sum(1 for result in results if result == "delivered")

    async def _attempt(self, delivery: Delivery) -> Outcome | None:
        job = await self._lookup(delivery.job_id)
        now = self.clock.now()
        if job is None or job.state == "processing":  # not finished yet (or purged): look again shortly
            if job is None:
                self.deliveries.update(replace(delivery, state="gave_up"))
                return "gave_up"
            self.deliveries.update(replace(delivery, next_at=now + self._poll_s))
            return None
        body = delivery.payload if delivery.payload is not None else payload_for(job)
        finished_at = delivery.finished_at if delivery.finished_at is not None else now
        status, error = await self._post(delivery.url, body)
        attempt = Attempt(self.clock.now(), status, error)
        attempts = (*delivery.attempts, attempt)
        done = replace(delivery, payload=body, finished_at=finished_at, attempts=attempts)
        if status is not None and 200 <= status < 300:
            self.deliveries.update(replace(done, state="delivered"))
            return "delivered"
        failures = sum(1 for item in attempts if not item.ok)
        next_at = self.clock.now() + self.policy.delay_after(failures)
        if next_at > finished_at + self.policy.retry_for_s:
            log.warning("webhook for job %s given up after %d attempts", delivery.job_id, len(attempts))
            self.deliveries.update(replace(done, state="gave_up"))
            return "gave_up"
        self.deliveries.update(replace(done, next_at=next_at))
        return "retry"

    async def _post(self, url: str, body: Mapping[str, Any]) -> tuple[int | None, str | None]:
        try:
            response = await self._client.post(url, json=body, timeout=self.policy.timeout_s)
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return response.status_code, None

    async def run_forever(self) -> None:
        """The background sender: due deliveries every `poll_s`, or at once when a job finishes."""
        while True:
            try:
                await self.run_due()
            except StoreUnavailableError as error:
                if self.on_store_error is not None:
                    self.on_store_error(error)
                else:
                    log.error("webhook delivery round failed: %s", error)
            except Exception:  # a broken delivery must not stop the others
                log.exception("webhook delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
            self._wake.clear()

    async def aclose(self) -> None:
        await self._client.aclose()
