"""Faults on purpose: seeded plans, and what a dropped or slow reply puts on the wire."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from starlette.responses import JSONResponse

from mock_server.parsing import Latency
from mock_server.services.faults import (
    DroppedConnectionError,
    FaultConfig,
    FaultInjector,
    FaultPlan,
    FaultPreferences,
    deliver,
    quiet_dropped_connections,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


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
