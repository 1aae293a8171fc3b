"""Faults on purpose: parsing, seeded plans, and what a dropped or slow reply puts on the wire."""

from __future__ import annotations

import asyncio
import logging
import random
import statistics
import time
from typing import Any

import pytest
from starlette.responses import JSONResponse

from mock_server.faults import (
    DroppedConnectionError,
    FaultConfig,
    FaultInjector,
    FaultPlan,
    FaultPreferences,
    Latency,
    deliver,
    fault_preferences,
    parse_duration,
    parse_fault_rates,
    parse_latency,
    quiet_dropped_connections,
)
from mock_server.problems import MockFault

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("200ms", 0.2), ("1.5s", 1.5), ("2", 2.0), (" 0ms ", 0.0)],
    ids=["ms", "s", "bare", "zero-padded"],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fast", "'fast' is not a duration"),
        ("-5ms", "'-5ms' is not a duration"),
        ("301s", "longer than 300 s"),
    ],
    ids=["word", "negative", "too-long"],
)
def test_parse_duration_names_the_bad_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250ms", Latency("fixed", 0.25)),
        ("uniform:100ms:300ms", Latency("uniform", 0.1, 0.3)),
        ("lognormal:200ms:0.5", Latency("lognormal", 0.2, 0.5)),
    ],
    ids=["fixed", "uniform", "lognormal"],
)
def test_parse_latency(text: str, expected: Latency) -> None:
    assert parse_latency(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("uniform:300ms:100ms", "low bound is above the high bound"),
        ("lognormal:200ms:x", "sigma 'x' is not a number"),
        ("lognormal:200ms:9", "sigma must be between 0 and 5"),
        ("gamma:1s:2", "is not a latency"),
    ],
    ids=["uniform-reversed", "sigma-word", "sigma-huge", "unknown-kind"],
)
def test_parse_latency_names_the_bad_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_latency(text)


def test_latency_samples_follow_their_distribution() -> None:
    rng = random.Random(1)
    assert Latency("fixed", 0.2).sample(rng) == 0.2
    uniform = [Latency("uniform", 0.1, 0.3).sample(rng) for _ in range(500)]
    assert min(uniform) >= 0.1
    assert max(uniform) <= 0.3
    lognormal = [Latency("lognormal", 0.2, 0.5).sample(rng) for _ in range(2000)]
    assert statistics.median(lognormal) == pytest.approx(0.2, rel=0.1)


def test_parse_fault_rates_from_text_and_mapping() -> None:
    assert parse_fault_rates("drop=0.01, 503=0.02") == {"drop": 0.01, "503": 0.02}
    assert parse_fault_rates({"slow-body": 0.5}) == {"slow-body": 0.5}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("teapot=0.1", "'teapot' is not a fault"),
        ("drop", "expected fault=share pairs"),
        ("drop=lots", "the share is not a number"),
        ("drop=1.5", "between 0 and 1"),
        ("drop=0.6,500=0.6", "add up to more than 1"),
    ],
    ids=["unknown", "no-share", "word-share", "share-over-1", "sum-over-1"],
)
def test_parse_fault_rates_names_the_bad_value(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fault_rates(raw)


def test_fault_preferences_read_only_their_names() -> None:
    prefs = fault_preferences(["scenario=processing, latency=200ms", 'fault="slow-body"; x=1'])
    assert prefs == FaultPreferences(Latency("fixed", 0.2), "slow-body")
    assert fault_preferences([]) == FaultPreferences()


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("fault=explode", "fault='explode' is not one of 500, 503, drop, slow-body, none"),
        ("latency=soon", "latency='soon'"),
    ],
    ids=["unknown-fault", "bad-latency"],
)
def test_bad_fault_preference_is_a_400_mock_fault(header: str, detail: str) -> None:
    with pytest.raises(MockFault) as raised:
        fault_preferences([header])
    assert raised.value.status == 400
    assert detail in raised.value.detail


def test_plans_repeat_for_the_same_seed_and_follow_the_rates() -> None:
    config = FaultConfig(Latency("uniform", 0.0, 0.1), {"drop": 0.1, "503": 0.2}, seed=7)
    first = FaultInjector(config).plan(FaultPreferences())
    injector = FaultInjector(config)
    plans = [injector.plan(FaultPreferences()) for _ in range(2000)]
    assert plans[0] == first
    injector.reset()
    assert [injector.plan(FaultPreferences()) for _ in range(50)] == plans[:50]
    faults = [plan.fault for plan in plans]
    assert faults.count("drop") / 2000 == pytest.approx(0.1, abs=0.03)
    assert faults.count("503") / 2000 == pytest.approx(0.2, abs=0.03)
    assert {plan.reason for plan in plans} == {"config", "none"}


def test_a_request_preference_beats_the_configuration() -> None:
    injector = FaultInjector(FaultConfig(Latency("fixed", 1.0), {"drop": 1.0}))
    assert injector.plan(FaultPreferences(fault="none")) == FaultPlan(1.0, None, "prefer")
    assert injector.plan(FaultPreferences(Latency("fixed", 0.01), "500")) == FaultPlan(0.01, "500", "prefer")
    assert FaultPlan(0, "503").status_code == 503
    assert FaultPlan(0, "drop").status_code is None


def run_response(response: Any) -> tuple[list[dict[str, Any]], BaseException | None]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        asyncio.run(response({"type": "http", "method": "POST"}, receive, send))
    except DroppedConnectionError as error:
        return sent, error
    return sent, None


REPLY = JSONResponse({"status": "success", "output": ["x" * 100]})


def test_drop_sends_half_the_body_then_breaks_the_connection() -> None:
    sent, error = run_response(deliver(REPLY, FaultPlan(0, "drop"), 1.0))
    assert isinstance(error, DroppedConnectionError)
    headers = dict(sent[0]["headers"])
    assert headers[b"content-length"] == str(len(REPLY.body)).encode()
    assert sent[1]["body"] == REPLY.body[: len(REPLY.body) // 2]
    assert sent[1]["more_body"] is True


def test_slow_body_arrives_whole_in_chunks_over_the_duration() -> None:
    started = time.perf_counter()
    sent, error = run_response(deliver(REPLY, FaultPlan(0, "slow-body"), 0.2))
    elapsed = time.perf_counter() - started
    assert error is None
    bodies = [message["body"] for message in sent[1:]]
    assert b"".join(bodies) == REPLY.body
    assert len(bodies) == 10
    assert sent[-1]["more_body"] is False
    assert 0.18 <= elapsed < 2.0


def test_no_fault_leaves_the_reply_alone() -> None:
    assert deliver(REPLY, FaultPlan(0.5, None), 1.0) is REPLY


def test_dropped_connection_tracebacks_are_filtered_from_the_log(caplog: pytest.LogCaptureFixture) -> None:
    quiet_dropped_connections("mixmock.test")
    quiet_dropped_connections("mixmock.test")  # idempotent
    logger = logging.getLogger("mixmock.test")
    assert len(logger.filters) == 1
    with caplog.at_level(logging.ERROR, logger="mixmock.test"):
        bug = RuntimeError("a real bug")
        for error in (DroppedConnectionError("on purpose"), bug):
            try:
                raise error
            except Exception:
                logger.exception("Exception in ASGI application")
    assert [record.exc_info[1] for record in caplog.records if record.exc_info] == [bug]
