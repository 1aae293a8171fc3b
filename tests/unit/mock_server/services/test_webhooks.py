"""Webhooks: payloads that match the spec, allowed hosts, retries with backoff, and the delivery log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from mock_server.engines.base import ImageJob
from mock_server.outbound import outbound_client
from mock_server.services.deliveries import Delivery, SQLiteDeliveries
from mock_server.services.webhooks import WebhookDispatcher, WebhookPolicy, payload_for, refusal
from mock_server.state.clock import ManualClock
from mock_server.state.jobs import Job, Window
from openapi import load_spec

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

HOOK = "http://127.0.0.1:9/hook"


def job(state: str = "success", track_id: Any = 42, webhook: str | None = HOOK, **fields: Any) -> Job:
    values: dict[str, Any] = {
        "id": 349,
        "operation_id": "img_mixer",
        "file_prefix": "8aa6cb76-0c62-4ebc-a29a-3a3e3727bc88",
        "state": state,
        "created_at": 1_700_000_000.0,
        "image_job": ImageJob("img_mixer", {"prompt": "rose man"}, 800, 600, 1, 12345),
        "output": ("http://127.0.0.1:8000/generations/8aa6cb76-0c62-4ebc-a29a-3a3e3727bc88-0.png",),
        "meta": {"H": 600, "W": 800, "prompt": "rose man", "seed": 12345, "n_samples": 1, "steps": 41},
        "generation_time": 1.25,
        "message": "Failed, Try Again" if state == "failed" else None,
        "webhook": webhook,
        "track_id": track_id,
    }
    values.update(fields)
    return Job(**values)


def webhook_validator(spec: str) -> Any:
    document = load_spec(spec)
    (hook,) = document["webhooks"].values()
    schema = hook["post"]["requestBody"]["content"]["application/json"]["schema"]
    root = {"components": document["components"], **schema}
    return jsonschema_rs.validator_for(root, validate_formats=True)


@pytest.mark.parametrize("state", ["success", "failed"])
@pytest.mark.parametrize("track_id", ["video_001", 42, None], ids=["string", "integer", "null"])
def test_payload_matches_the_spec_webhooks_and_keeps_the_track_id_type(state: str, track_id: Any) -> None:
    payload = payload_for(job(state, track_id))
    assert payload["status"] == state
    assert payload["track_id"] == track_id
    assert type(json.loads(json.dumps(payload))["track_id"]) is type(track_id)
    errors = [error.message for error in webhook_validator("v6").iter_errors(payload)]
    assert errors == []


@pytest.mark.parametrize(
    ("url", "allowed", "reason"),
    [
        pytest.param("http://127.0.0.1:8080/hook", (), None, id="loopback-v4"),
        pytest.param("http://[::1]:8080/hook", (), None, id="loopback-v6"),
        pytest.param("http://localhost/hook", (), None, id="localhost"),
        pytest.param("http://10.0.0.5/hook", (), "host '10.0.0.5' is not an allowed", id="private"),
        pytest.param("https://example.com/hook", (), "host 'example.com' is not", id="public-name"),
        pytest.param("https://hooks.example.com/x", ("*.example.com",), None, id="suffix-rule"),
        pytest.param("http://10.0.0.5/hook", ("10.0.0.0/8",), None, id="network-rule"),
        pytest.param("http://anything.test/", ("*",), None, id="any"),
        pytest.param("ftp://127.0.0.1/hook", (), "is not http or https", id="scheme"),
        pytest.param("http:///hook", (), "has no host", id="no-host"),
        pytest.param("http://[::1/hook", (), "is not a valid URL", id="broken-url"),
    ],
)
def test_refusal(url: str, allowed: tuple[str, ...], reason: str | None) -> None:
    policy = WebhookPolicy(allow_hosts=allowed) if allowed else WebhookPolicy()
    found = refusal(url, policy)
    assert found == reason if reason is None else reason in (found or "")


def test_policy_names_a_bad_setting() -> None:
    with pytest.raises(ValueError, match=r"WebhookPolicy\.retry_for_s must be 0 or more, got -1"):
        WebhookPolicy(retry_for_s=-1)
    with pytest.raises(ValueError, match=r"host '10\.0\.0\.0/99' is neither a host name"):
        WebhookPolicy(allow_hosts=("10.0.0.0/99",))


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = WebhookPolicy(first_delay_s=1, max_delay_s=5)
    assert [policy.delay_after(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]


class Receiver:
    """A webhook receiver that answers from a script of statuses (an exception = connection refused)."""

    def __init__(self, *script: int | type[Exception]) -> None:
        self.script = list(script)
        self.bodies: list[Any] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        step = self.script.pop(0) if self.script else 200
        if isinstance(step, type):
            raise step("receiver down", request=request)  # type: ignore[call-arg]
        self.bodies.append(json.loads(request.content))
        return httpx.Response(step)


def dispatcher(
    receiver: Callable[[httpx.Request], httpx.Response],
    jobs: dict[int, Job],
    clock: ManualClock,
    **policy: Any,
) -> WebhookDispatcher:
    async def lookup(job_id: int) -> Job | None:
        return jobs.get(job_id)

    client = outbound_client(httpx.MockTransport(receiver))
    return WebhookDispatcher(SQLiteDeliveries(":memory:"), WebhookPolicy(**policy), clock, lookup, client)


def run_rounds(
    hooks: WebhookDispatcher, sent: Job, clock: ManualClock, rounds: int, step_s: float
) -> Delivery:
    """Schedule `sent`'s webhook, run `rounds` delivery rounds `step_s` apart, close; its delivery then."""

    async def scenario() -> None:
        hooks.schedule(sent)
        for _ in range(rounds):
            await hooks.run_due()
            clock.advance(step_s)
        await hooks.aclose()

    asyncio.run(scenario())
    delivery = hooks.deliveries.for_job(sent.id)
    assert delivery is not None
    return delivery


def test_delivery_retries_with_backoff_until_the_receiver_answers() -> None:
    clock = ManualClock()
    receiver = Receiver(httpx.ConnectError, 503, 200)
    jobs = {349: job()}
    hooks = dispatcher(receiver, jobs, clock, first_delay_s=2, max_delay_s=60)

    async def scenario() -> list[int]:
        hooks.schedule(jobs[349])
        sent = [await hooks.run_due()]  # connection refused
        clock.advance(1.9)
        sent.append(await hooks.run_due())  # not due yet
        clock.advance(0.1)
        sent.append(await hooks.run_due())  # 503
        clock.advance(4)
        sent.append(await hooks.run_due())  # 200
        await hooks.aclose()
        return sent

    assert asyncio.run(scenario()) == [0, 0, 0, 1]
    delivery = hooks.deliveries.for_job(349)
    assert delivery is not None
    assert delivery.state == "delivered"
    assert [(a.status, a.error) for a in delivery.attempts] == [
        (None, "ConnectError: receiver down"),
        (503, None),
        (200, None),
    ]
    assert [a.at - clock.now() for a in delivery.attempts] == [-6.0, -4.0, 0.0]
    assert receiver.bodies == [payload_for(jobs[349])] * 2


def test_delivery_gives_up_when_the_retry_window_is_over() -> None:
    clock = ManualClock()
    jobs = {349: job("failed")}
    hooks = dispatcher(Receiver(500, 500, 500, 500), jobs, clock, first_delay_s=1, retry_for_s=3)

    delivery = run_rounds(hooks, jobs[349], clock, rounds=5, step_s=10)
    assert delivery.state == "gave_up"
    assert [a.status for a in delivery.attempts] == [500, 500]


def test_a_disallowed_host_is_logged_as_refused_and_never_called() -> None:
    calls: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200)

    clock = ManualClock()
    jobs = {349: job(webhook="http://169.254.169.254/latest/meta-data")}
    hooks = dispatcher(receiver, jobs, clock)
    delivery = hooks.schedule(jobs[349])
    asyncio.run(hooks.run_due())
    assert calls == []
    assert delivery is not None
    assert delivery.state == "refused"
    assert delivery.attempts[0].error is not None
    assert "host '169.254.169.254' is not an allowed webhook host" in delivery.attempts[0].error


def test_a_processing_job_is_delivered_once_it_finishes() -> None:
    clock = ManualClock()
    receiver = Receiver()
    jobs = {349: job("processing", ready_at=clock.now() + 5)}
    hooks = dispatcher(receiver, jobs, clock)

    async def scenario() -> list[int]:
        hooks.schedule(jobs[349])
        sent = [await hooks.run_due()]  # not due: the job's eta is 5 s away
        clock.advance(5)
        sent.append(await hooks.run_due())  # due, but the job is still processing (say, polls-based)
        jobs[349] = job("success")
        await hooks.job_finished(jobs[349])
        sent.append(await hooks.run_due())
        await hooks.aclose()
        return sent

    assert asyncio.run(scenario()) == [0, 0, 1]
    assert [body["status"] for body in receiver.bodies] == ["success"]


def test_a_job_without_webhook_schedules_nothing() -> None:
    hooks = dispatcher(Receiver(), {}, ManualClock())
    assert hooks.schedule(job(webhook=None)) is None
    assert hooks.deliveries.page(Window()).items == []


def test_pending_deliveries_survive_a_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "store.sqlite3")
    clock = ManualClock()
    jobs = {349: job()}
    first = SQLiteDeliveries(path)
    first.add(Delivery.new(349, HOOK, created_at=clock.now(), next_at=clock.now(), state="pending"))
    first.close()
    receiver = Receiver()
    hooks = dispatcher(receiver, jobs, clock)
    hooks.deliveries = SQLiteDeliveries(path)  # the restarted server's view of the same file
    assert asyncio.run(hooks.run_due()) == 1
    assert receiver.bodies == [payload_for(jobs[349])]


def test_a_redirect_is_a_logged_failed_attempt_and_never_followed() -> None:
    calls: list[str] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(302, headers={"location": "data:,x"})

    clock = ManualClock()
    jobs = {349: job()}
    hooks = dispatcher(receiver, jobs, clock, first_delay_s=1, retry_for_s=5)

    delivery = run_rounds(hooks, jobs[349], clock, rounds=6, step_s=4)
    assert delivery.state == "gave_up"
    assert calls == [HOOK] * len(delivery.attempts)  # every POST is in the log
    first = delivery.attempts[0]
    assert (first.status, first.error) == (302, "redirect to 'data:,x' not followed")


def test_whatever_the_client_raises_is_a_logged_attempt() -> None:
    def receiver(request: httpx.Request) -> httpx.Response:
        raise httpx.InvalidURL("no such thing")

    clock = ManualClock()
    jobs = {349: job()}
    hooks = dispatcher(receiver, jobs, clock)

    async def scenario() -> None:
        hooks.schedule(jobs[349])
        await hooks.run_due()
        await hooks.aclose()

    asyncio.run(scenario())
    delivery = hooks.deliveries.for_job(349)
    assert delivery is not None
    assert delivery.state == "pending"
    assert [a.error for a in delivery.attempts] == ["InvalidURL: no such thing"]


def test_a_job_finishing_during_an_attempt_is_not_sent_twice_by_another_worker(tmp_path: Path) -> None:
    """Worker A is POSTing; worker B finishes the job (a client's fetch) and hastens its delivery."""
    path = str(tmp_path / "store.sqlite3")
    clock = ManualClock()
    jobs = {349: job()}
    released = asyncio.Event()
    bodies: list[Any] = []

    async def slow_receiver(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        await released.wait()
        return httpx.Response(200)

    async def lookup(job_id: int) -> Job | None:
        return jobs.get(job_id)

    def worker() -> WebhookDispatcher:
        client = outbound_client(httpx.MockTransport(slow_receiver))
        return WebhookDispatcher(SQLiteDeliveries(path), WebhookPolicy(), clock, lookup, client)

    first, second = worker(), worker()

    async def scenario() -> int:
        first.schedule(jobs[349])
        sending = asyncio.create_task(first.run_due())
        while not bodies:
            await asyncio.sleep(0.01)
        await second.job_finished(jobs[349])  # hastens nothing: the delivery is leased
        sent_by_second = await second.run_due()
        released.set()
        sent = await sending + sent_by_second
        for hooks in (first, second):
            await hooks.aclose()
        return sent

    assert asyncio.run(scenario()) == 1
    assert len(bodies) == 1
    delivery = first.deliveries.for_job(349)
    assert delivery is not None
    assert [(a.status, a.error) for a in delivery.attempts] == [(200, None)]
