"""The access log: uvicorn's line format, written in batches by the app itself."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest

from mock_server.access_log import ACCESS_LOG, AccessLog, access_line, request_part
from mock_server.app import create_app
from mock_server.settings import Settings
from mock_server.tooling.testing import in_process

pytestmark = pytest.mark.unit


def scope(**changes: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/api/v6/image_editing/img_mixer",
        "root_path": "",
        "query_string": b"",
        "http_version": "1.1",
        "client": ("127.0.0.1", 53422),
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "status", "expected"),
    [
        ({}, 200, '127.0.0.1:53422 - "POST /api/v6/image_editing/img_mixer HTTP/1.1" 200 OK'),
        ({"query_string": b"a=1"}, 200, '"POST /api/v6/image_editing/img_mixer?a=1 HTTP/1.1" 200 OK'),
        ({"method": "GET", "path": "/nope"}, 404, '"GET /nope HTTP/1.1" 404 Not Found'),
        ({"path": "/a b"}, 405, '"POST /a%20b HTTP/1.1" 405 Method Not Allowed'),
        ({"client": None}, 599, '- - "POST /api/v6/image_editing/img_mixer HTTP/1.1" 599 '),
    ],
    ids=["plain", "query", "not-found", "quoted-path", "no-client-unknown-status"],
)
def test_line_is_uvicorns(changes: dict[str, Any], status: int, expected: str) -> None:
    line = access_line(request_part(scope(**changes)), status)
    assert line.startswith("INFO:     ")
    assert line.endswith(expected)


def test_a_quiet_log_writes_each_line_at_once() -> None:
    stream = io.StringIO()
    log = AccessLog(stream, interval=0.05)
    log.record(request_part(scope()), {"type": "http.response.start", "status": 200})
    log.record(request_part(scope()), {"type": "http.response.body", "body": b"{}"})
    assert stream.getvalue().count("\n") == 1


def test_a_burst_is_written_together_and_nothing_is_left_behind() -> None:
    stream = io.StringIO()
    log = AccessLog(stream, interval=1.0, capacity=1000)
    for _ in range(50):
        log.record(request_part(scope()), {"type": "http.response.start", "status": 200})
    assert stream.getvalue().count("\n") == 1  # the first line at once, the rest held
    deadline = time.monotonic() + 5
    while stream.getvalue().count("\n") < 50 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stream.getvalue().count("\n") == 50


def test_capacity_forces_a_write() -> None:
    stream = io.StringIO()
    log = AccessLog(stream, interval=60, capacity=10)
    for _ in range(20):  # the first at once (nothing was written yet), then ten, nine left waiting
        log.record(request_part(scope()), {"type": "http.response.start", "status": 200})
    assert stream.getvalue().count("\n") == 11


@pytest.mark.parametrize("enabled", [True, False], ids=["access-log", "no-access-log"])
def test_the_app_logs_every_reply(enabled: bool, capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app(Settings(store=":memory:", access_log=enabled))
    with in_process(app) as client:
        client.get("/health")
        client.post("/api/v6/image_editing/fetch/1", json={"key": "k"})
        client.get("/_mixmock/nothing-here")
    ACCESS_LOG.flush()
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("INFO:     127.0.0.1:")]
    if enabled:
        assert [line.split('"')[1] for line in lines] == [
            "GET /health HTTP/1.1",
            "POST /api/v6/image_editing/fetch/1 HTTP/1.1",
            "GET /_mixmock/nothing-here HTTP/1.1",
        ]
    else:
        assert lines == []
