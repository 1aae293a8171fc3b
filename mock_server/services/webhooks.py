"""Webhook delivery: the vendor's payload POSTed when a job finishes, retried with backoff, each try logged.

A delivery is written to the store when the job is accepted, so a restarted server (or another worker)
resumes it. A sender claims due deliveries under its own owner token with a lease, so with several
workers each POST goes out once; every POST sent is appended to the delivery's log. URLs are only called
on allowed hosts (loopback by default); any other is logged as refused and never contacted, so the mock
cannot be turned into a way to reach other machines. Redirects are never followed: a 3xx is a failed
attempt, logged with its status and location, and retried like any other.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from mock_server.outbound import Redirected, outbound_client
from mock_server.parsing import HostAllowList
from mock_server.services.background import repeat
from mock_server.services.deliveries import Attempt, Delivery, DeliveryState, DeliveryStore, Turn
from mock_server.state.clock import Clock
from mock_server.state.health import StoreHealth
from mock_server.state.jobs import Job
from openapi.vocabulary import failed_job_message

__all__ = ["DEFAULT_ALLOWED", "WebhookDispatcher", "WebhookPolicy", "payload_for", "refusal"]

log = logging.getLogger("mixmock.webhooks")
DEFAULT_ALLOWED = ("localhost", "127.0.0.0/8", "::1")
LEASE_MARGIN_S = 5.0  # a claim outlives one attempt (at most `timeout_s`) by this much
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
        deliveries: DeliveryStore,
        policy: WebhookPolicy,
        clock: Clock,
        lookup: JobLookup,
        client: httpx.AsyncClient | None = None,
        poll_s: float = 0.5,
        owner: str | None = None,
        health: StoreHealth | None = None,
    ) -> None:
        self.deliveries = deliveries
        self.policy = policy
        self.clock = clock
        self.owner = owner or uuid.uuid4().hex  # this sender's claims; another process has another token
        self._lookup = lookup
        self._client = client or outbound_client()
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self.health = health  # told when a round meets a store outage (logged once there, not per round)

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
                Delivery.new(
                    job.id,
                    job.webhook,
                    created_at=now,
                    next_at=now,
                    state="refused",
                    attempt=refused,
                    session=job.session,
                )
            )
        due = job.ready_at if job.state == "processing" and job.ready_at is not None else now
        if due <= now:
            self._wake.set()
        return self.deliveries.add(
            Delivery.new(
                job.id, job.webhook, created_at=now, next_at=due, state="pending", session=job.session
            )
        )

    async def job_finished(self, job: Job) -> None:
        """A job listener: deliver now rather than at the next poll."""
        if job.webhook and self.deliveries.hasten(job.id, self.clock.now()):
            self._wake.set()

    async def run_due(self) -> int:
        """Attempt every delivery that is due (claimed first, so workers never send one twice)."""
        now = self.clock.now()
        lease_s = self.policy.timeout_s + LEASE_MARGIN_S
        claimed = self.deliveries.claim_due(now, owner=self.owner, lease_s=lease_s)
        results = await asyncio.gather(*(self._attempt(d) for d in claimed), return_exceptions=True)
        for delivery, result in zip(claimed, results, strict=True):
            if isinstance(result, BaseException):  # its lease runs out and it is tried again later
                log.error("webhook delivery for job %s failed: %r", delivery.job_id, result)
        return sum(1 for result in results if result == "delivered")

    async def _attempt(self, delivery: Delivery) -> Outcome | None:
        job = await self._lookup(delivery.job_id)
        now = self.clock.now()
        if job is None:  # purged, or never stored: nothing to deliver
            self.deliveries.release(delivery.id, self.owner, Turn("gave_up", now))
            return "gave_up"
        if job.state == "processing":  # not finished yet: look again shortly
            self.deliveries.release(delivery.id, self.owner, Turn("pending", now + self._poll_s))
            return None
        body = delivery.payload if delivery.payload is not None else payload_for(job)
        finished_at = delivery.finished_at if delivery.finished_at is not None else now
        status, error = await self._post(delivery.url, body)
        attempt = Attempt(self.clock.now(), status, error)
        failures = sum(1 for item in (*delivery.attempts, attempt) if not item.ok)
        outcome: Outcome = "delivered" if attempt.ok else "retry"
        next_at = attempt.at + (0.0 if attempt.ok else self.policy.delay_after(failures))
        if not attempt.ok and next_at > finished_at + self.policy.retry_for_s:
            log.warning("webhook for job %s given up after %d attempts", delivery.job_id, failures)
            outcome, next_at = "gave_up", attempt.at
        state: DeliveryState = "pending" if outcome == "retry" else outcome
        turn = Turn(state, next_at, attempt=attempt, payload=body, finished_at=finished_at)
        self.deliveries.release(delivery.id, self.owner, turn)
        return outcome

    async def _post(self, url: str, body: Mapping[str, Any]) -> tuple[int | None, str | None]:
        """(status, None) for a reply; (status, why) for a redirect; (None, why) when there was none."""
        timeout = self.policy.timeout_s
        try:
            async with asyncio.timeout(timeout):  # the whole attempt, so it ends within its lease
                response = await self._client.post(url, json=body, timeout=timeout)
        except Redirected as redirect:
            return redirect.status, f"redirect to {redirect.location[:200]!r} not followed"
        except TimeoutError:
            return None, f"no reply within {timeout:g} s"
        except Exception as error:  # whatever the client raises, the attempt is logged, never lost
            return None, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        return response.status_code, None

    async def run_forever(self) -> None:
        """The background sender: due deliveries every `poll_s`, or at once when a job finishes."""

        async def step() -> None:
            await self.run_due()

        await repeat(step, self._poll_s, "webhook delivery", wake=self._wake, health=self.health)

    async def aclose(self) -> None:
        await self._client.aclose()
