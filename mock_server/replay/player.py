"""Answering from a recording: the same replies, the same job lifecycles, the recorded pacing.

- A create whose body matches a recorded create (without key, webhook and redacted fields) gets the
  recorded reply after the recorded delay; equal bodies get their recorded replies in order, then the
  last one again. Its job's lifecycle starts then.
- The n-th fetch of a replayed job gets the n-th recorded fetch reply, but never sooner than it came
  in the recording (so a client polling faster than the recorded one sees `processing` until the
  recorded success time); once the recorded fetches are used up, the last one repeats.
- A recorded job polled without a replayed create starts its clock at that fetch, as far back as its
  first fetch came after its create; unless the mock made a job with that id itself (then the spec
  answers it).
- The recorded webhooks go to the webhook URL the replayed create names, at their recorded offset.
- Output files are served from the recording at the URLs the proxy gave while recording.
Each mixmock session (`mock_server/sessions.py`) replays on its own: its creates take their turns and
its polls advance its jobs, whatever other sessions send.
`speed` divides every recorded delay (`inf`: none at all, the recorded order only). The rest (no match,
an id the recording does not know) is answered by the spec, as without a recording.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from starlette.responses import Response

from mock_server.pipeline.intake import Intake
from mock_server.problems import Problem, problem_response
from mock_server.proxy.context import violation_headers
from mock_server.proxy.contract import reply_violations, request_violations
from mock_server.proxy.forwarding import relayed
from mock_server.proxy.urls import recorded_upstream, rewrite_urls
from mock_server.replay.recording import Lifecycle, Recorded, Recording
from mock_server.services.webhooks import WebhookPolicy, refusal
from mock_server.state.clock import Clock
from openapi.operations import Operation

__all__ = ["REPLAY_HEADER", "Replay", "Replayed"]

log = logging.getLogger("mixmock.replay")
REPLAY_HEADER = "X-Mixmock-Replay"
_SESSIONS = 10_000  # replayed jobs remembered, the oldest forgotten first


@dataclass(frozen=True)
class Replayed:
    """A recorded reply, ready to send, and what the journal says about it."""

    response: Response
    why: str
    job_id: int | None
    status: str | None  # the reply's `status`


@dataclass
class _Session:
    lifecycle: Lifecycle
    started: float  # when the replayed job's clock started (the mock's clock)
    origin: str
    polls: int = 0


@dataclass
class _Uses:
    """How many times each (session, operation, body) took a recorded reply: the `_SESSIONS` most recent."""

    counts: OrderedDict[tuple[str, str, str], int] = field(default_factory=OrderedDict)

    def take(self, key: tuple[str, str, str], recorded: list[Recorded] | tuple[Recorded, ...]) -> Recorded:
        index = self.counts.get(key, 0)
        self.counts[key] = index + 1
        self.counts.move_to_end(key)
        while len(self.counts) > _SESSIONS:
            self.counts.popitem(last=False)
        return recorded[min(index, len(recorded) - 1)]


class Replay:
    def __init__(
        self,
        recording: Recording,
        speed: float,
        clock: Clock,
        webhooks: WebhookPolicy,
        *,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        spec_knows: Callable[[str], bool] = lambda job_id: False,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"replay speed must be more than 0, got {speed!r}")
        self.recording = recording
        self.speed = speed
        self._clock = clock
        self._webhooks = webhooks
        self._client = client or httpx.AsyncClient(follow_redirects=False, trust_env=False)
        self._sleep = sleep
        self._spec_knows = spec_knows  # whether the mock itself made a job with this id
        self._uses = _Uses()
        self._sessions: OrderedDict[tuple[str, str, str], _Session] = OrderedDict()  # (session, spec, id)
        self._tasks: set[asyncio.Task[None]] = set()

    def _scaled(self, seconds: float) -> float:
        return max(seconds, 0.0) / self.speed

    async def answer(self, operation: Operation, intake: Intake) -> Replayed | None:
        """The recorded reply for this request, or None when the spec should answer."""
        if operation.kind == "create":
            return await self._create(operation, intake)
        return await self._fetch(operation, intake)

    async def _create(self, operation: Operation, intake: Intake) -> Replayed | None:
        key = self.recording.match_key(intake.body)
        candidates = self.recording.creates.get((operation.operation_id, key or ""))
        if key is None or not candidates:
            return None
        recorded = self._uses.take((intake.session, operation.operation_id, key), tuple(candidates))
        await self._sleep(self._scaled(recorded.time_s))
        if recorded.spec is not None and recorded.job_id is not None:
            lifecycle = self.recording.lifecycles.get((recorded.spec, recorded.job_id))
            if lifecycle is not None:
                self._start((intake.session, recorded.spec, recorded.job_id), lifecycle, intake.origin)
                self._send_webhooks(lifecycle, intake)
        return self._replayed(operation, intake, recorded)

    async def _fetch(self, operation: Operation, intake: Intake) -> Replayed | None:
        job = (intake.session, operation.spec, intake.path_params.get("id", ""))
        session = self._sessions.get(job)
        if session is None:
            lifecycle = self.recording.lifecycles.get(job[1:])
            if lifecycle is None or not lifecycle.fetches or self._spec_knows(job[2]):
                return None
            # Polled without a replayed create: the job's clock starts as far back as its first fetch was.
            offset = self._scaled(lifecycle.fetches[0].started - lifecycle.start)
            session = self._start(job, lifecycle, intake.origin, started=self._clock.now() - offset)
        fetches = session.lifecycle.fetches
        if not fetches:
            return None
        elapsed = self._clock.now() - session.started
        due = [
            index
            for index, fetch in enumerate(fetches)
            if self._scaled(fetch.started - session.lifecycle.start) <= elapsed
        ]
        recorded = fetches[min(session.polls, due[-1] if due else 0)]
        session.polls += 1
        await self._sleep(self._scaled(recorded.time_s))
        return self._replayed(operation, intake, recorded)

    def _start(
        self, job: tuple[str, str, str], lifecycle: Lifecycle, origin: str, started: float | None = None
    ) -> _Session:
        session = _Session(lifecycle, self._clock.now() if started is None else started, origin)
        self._sessions[job] = session
        self._sessions.move_to_end(job)
        while len(self._sessions) > _SESSIONS:
            self._sessions.popitem(last=False)
        return session

    def _content(self, recorded: Recorded, origin: str) -> bytes:
        body = recorded.reply_json
        if body is None:
            return recorded.content
        plan = self.recording.plan
        text = rewrite_urls(
            recorded.content.decode("utf-8"), body, lambda url, field: plan.client_url(url, field, origin)
        )
        return text.encode("utf-8")

    def _replayed(self, operation: Operation, intake: Intake, recorded: Recorded) -> Replayed:
        answered = reply_violations(operation, recorded.status, recorded.content_type, recorded.content)
        extra = {
            REPLAY_HEADER: recorded.source,
            **violation_headers(request_violations(operation, intake), answered),
        }
        response = relayed(self._content(recorded, intake.origin), recorded.status, recorded.headers, extra)
        body = recorded.reply_json
        status = body.get("status") if isinstance(body, dict) else None
        job = recorded.job_id
        return Replayed(
            response,
            f"replay: {recorded.source}",
            int(job) if job is not None and job.isdigit() and len(job) < 19 else None,
            str(status) if status is not None else None,
        )

    def file(self, path: str, query: str = "") -> Response:
        """A recorded output file at its `/_recorded/...` URL, or the 404 problem naming what is missing."""
        url = recorded_upstream(path, query)
        recorded = self.recording.files.get(url) if url is not None else None
        if recorded is None:
            detail = f"{path} is not a file of the recording"
            return problem_response(Problem(404, "no-image", "No such image", detail))
        return relayed(recorded.content, recorded.status, recorded.headers, {REPLAY_HEADER: recorded.source})

    # ---- webhooks

    def _send_webhooks(self, lifecycle: Lifecycle, intake: Intake) -> None:
        url = intake.body.get("webhook") if isinstance(intake.body, dict) else None
        if not lifecycle.webhooks or not isinstance(url, str) or not url:
            return
        why = refusal(url, self._webhooks)
        if why is not None:
            log.warning("replayed webhook not sent: %s", why)
            return
        for recorded in lifecycle.webhooks:
            delay = self._scaled(recorded.started - lifecycle.start)
            task = asyncio.get_running_loop().create_task(self._deliver(url, recorded, delay, intake.origin))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, recorded: Recorded, delay: float, origin: str) -> None:
        await self._sleep(delay)
        payload = recorded.request_json
        content = recorded.request_text.encode("utf-8")
        if payload is not None:
            plan = self.recording.plan
            text = rewrite_urls(recorded.request_text, payload, lambda u, f: plan.client_url(u, f, origin))
            content = text.encode("utf-8")
        headers = {"Content-Type": "application/json", REPLAY_HEADER: recorded.source}
        for attempt in range(3):  # best effort, as the vendor's own webhooks
            if attempt:
                await self._sleep(self._webhooks.delay_after(attempt))
            try:
                reply = await self._client.post(
                    url, content=content, headers=headers, timeout=self._webhooks.timeout_s
                )
            except httpx.HTTPError as error:
                log.warning("replayed webhook to %s failed: %s", url, type(error).__name__)
                continue
            if reply.status_code < 300:
                return
            log.warning("replayed webhook to %s answered HTTP %d", url, reply.status_code)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()
