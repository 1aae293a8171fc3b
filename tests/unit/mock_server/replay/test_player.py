"""Replay: recorded replies for matching requests, each job's lifecycle with the recorded pacing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.pipeline.intake import Intake
from mock_server.replay import Replay, load_recording
from mock_server.services.webhooks import WebhookPolicy
from mock_server.state.clock import ManualClock
from openapi.operations import load_operations
from tests.unit.mock_server.replay.conftest import Tape, fetched, processing

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

OPERATIONS = {operation.operation_id: operation for operation in load_operations(["v6"])}
ORIGIN = "http://127.0.0.1:8000"
BODY = {"key": "k", "prompt": "rose man", "init_image": ["https://img.example/a.png"], "steps": 41}


class Player:
    """A replay on a manual clock; sleeps are recorded instead of slept, webhooks caught."""

    def __init__(self, folder: Path, speed: float = 1.0) -> None:
        self.clock = ManualClock()
        self.slept: list[float] = []
        self.hooks: list[tuple[str, Any]] = []

        async def sleep(seconds: float) -> None:
            self.slept.append(seconds)

        def hook(request: httpx.Request) -> httpx.Response:
            self.hooks.append((str(request.url), json.loads(request.content)))
            return httpx.Response(200)

        client = httpx.AsyncClient(transport=httpx.MockTransport(hook))
        self.replay = Replay(
            load_recording(folder), speed, self.clock, WebhookPolicy(), client=client, sleep=sleep
        )

    def create(self, body: dict[str, Any] = BODY, session: str = "") -> Any:
        intake = Intake(body, None, {}, ORIGIN, {}, session=session)
        return asyncio.run(self.replay.answer(OPERATIONS["img_mixer"], intake))

    def fetch(self, job: int, session: str = "") -> Any:
        intake = Intake({"key": "k"}, None, {"id": str(job)}, ORIGIN, {}, session=session)
        replayed = asyncio.run(self.replay.answer(OPERATIONS["fetch_v6"], intake))
        return None if replayed is None else json.loads(bytes(replayed.response.body))


@pytest.fixture
def lifecycle(tmp_path: Path) -> Path:
    """img_mixer job 349: queued at 0 s; fetched at 1 s, 2 s (processing), 3 s (success); webhook at 2.5 s."""
    tape = Tape()
    tape.create(0.0, BODY, processing(349))
    tape.fetch(1.0, 349, fetched("processing", 349))
    tape.fetch(2.0, 349, fetched("processing", 349))
    tape.webhook(
        2.5,
        {
            "status": "success",
            "id": 349,
            "output": ["https://pub-1.r2.dev/generations/349-0.png"],
            "track_id": None,
        },
    )
    tape.fetch(3.0, 349, fetched("success", 349))
    tape.download(3.5, "https://pub-1.r2.dev/generations/349-0.png", b"\x89PNG-349")
    return tape.save(tmp_path)


def test_a_matching_create_gets_the_recorded_reply_on_this_origin(lifecycle: Path) -> None:
    player = Player(lifecycle)
    replayed = player.create()
    assert replayed.why == "replay: a.har#0"
    assert (replayed.job_id, replayed.status) == (349, "processing")
    text = replayed.response.body.decode()
    assert '"fetch_result": "http:\\/\\/127.0.0.1:8000\\/api\\/v6\\/image_editing\\/fetch\\/349"' in text
    assert "http:\\/\\/127.0.0.1:8000\\/_recorded\\/https\\/pub-1.r2.dev\\/generations\\/349-0.png" in text
    assert replayed.response.headers["x-vendor"] == "yes"
    assert replayed.response.headers["x-mixmock-replay"] == "a.har#0"
    assert player.slept[0] == 0.5  # the recorded time of the create


def test_the_key_and_webhook_do_not_take_part_in_matching(lifecycle: Path) -> None:
    player = Player(lifecycle)
    assert player.create({**BODY, "key": "another", "webhook": "http://127.0.0.1:1/h"}) is not None
    assert player.create({**BODY, "steps": 40}) is None
    assert player.create({**BODY, "track_id": 1}) is None


@pytest.mark.parametrize(
    ("speed", "poll_times", "statuses"),
    [
        (1.0, [0.0, 0.5, 1.0, 2.5, 2.9, 3.0], ["processing"] * 5 + ["success"]),
        (1.0, [10.0, 20.0, 30.0, 40.0], ["processing", "processing", "success", "success"]),
        (2.0, [0.5, 1.0, 1.5], ["processing", "processing", "success"]),
        (float("inf"), [0.0, 0.0, 0.0, 0.0], ["processing", "processing", "success", "success"]),
    ],
    ids=["polling-faster-than-recorded", "polling-slower", "twice-as-fast", "inf-recorded-order"],
)
def test_fetches_follow_the_recorded_order_never_sooner(
    lifecycle: Path, speed: float, poll_times: list[float], statuses: list[str]
) -> None:
    player = Player(lifecycle, speed)
    player.create()
    seen, now = [], 0.0
    for at in poll_times:
        player.clock.advance(at - now)
        now = at
        seen.append(player.fetch(349)["status"])
    assert seen == statuses


def test_a_fetch_the_recording_does_not_know_falls_back(lifecycle: Path) -> None:
    assert Player(lifecycle).fetch(350) is None


def test_a_polled_job_without_a_replayed_create_starts_its_clock_at_its_first_fetch(lifecycle: Path) -> None:
    player = Player(lifecycle)
    first = player.fetch(349)
    player.clock.advance(2.0)
    assert [first["status"], player.fetch(349)["status"], player.fetch(349)["status"]] == [
        "processing"
    ] * 2 + ["success"]


def test_the_recorded_webhook_goes_to_the_url_the_replayed_create_names(lifecycle: Path) -> None:
    player = Player(lifecycle, speed=2.0)

    async def run() -> None:
        intake = Intake({**BODY, "webhook": "http://127.0.0.1:7/now"}, None, {}, ORIGIN, {})
        await player.replay.answer(OPERATIONS["img_mixer"], intake)
        await asyncio.gather(*player.replay._tasks)

    asyncio.run(run())
    [(url, payload)] = player.hooks
    assert url == "http://127.0.0.1:7/now"
    assert payload["output"] == [f"{ORIGIN}/_recorded/https/pub-1.r2.dev/generations/349-0.png"]
    assert 1.25 in player.slept  # 2.5 s after the create, twice as fast


def test_a_webhook_to_a_host_not_allowed_is_not_sent(lifecycle: Path) -> None:
    player = Player(lifecycle)

    async def run() -> None:
        intake = Intake({**BODY, "webhook": "https://hooks.example/h"}, None, {}, ORIGIN, {})
        await player.replay.answer(OPERATIONS["img_mixer"], intake)
        assert not player.replay._tasks

    asyncio.run(run())
    assert player.hooks == []


def test_equal_creates_get_their_recorded_replies_in_order_then_the_last(tmp_path: Path) -> None:
    tape = Tape()
    for job, at in ((1, 0.0), (2, 1.0)):
        tape.create(at, BODY, processing(job))
    player = Player(tape.save(tmp_path))
    assert [player.create().job_id for _ in range(3)] == [1, 2, 2]


def test_each_session_replays_the_recording_on_its_own(
    tmp_path: Path, lifecycle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mock_server.replay.player._SESSIONS", 20)
    tape = Tape()
    for job, at in ((1, 0.0), (2, 1.0)):
        tape.create(at, BODY, processing(job))
    player = Player(tape.save(tmp_path / "creates"))
    assert [player.create(session="t1").job_id for _ in range(2)] == [1, 2]
    assert [player.create(session=s).job_id for s in ("t2", "", "t2")] == [1, 1, 2]  # never t1's turn
    player = Player(lifecycle, speed=float("inf"))
    assert [player.fetch(349, "t1")["status"] for _ in range(3)] == ["processing", "processing", "success"]
    assert player.fetch(349, "t2")["status"] == "processing"  # t1's polls are not t2's
    for index in range(30):  # many sessions: what replay remembers of them stays bounded
        player.create(session=f"s{index}")
        player.fetch(349, f"s{index}")
    assert len(player.replay._uses.counts) <= 20
    assert len(player.replay._sessions) <= 20


def test_recorded_files_are_served_and_others_are_404(lifecycle: Path) -> None:
    replay = Player(lifecycle).replay
    image = replay.file("/_recorded/https/pub-1.r2.dev/generations/349-0.png")
    missing = replay.file("/_recorded/https/pub-1.r2.dev/generations/350-0.png")
    assert (image.status_code, image.body, image.media_type) == (200, b"\x89PNG-349", "image/png")
    assert (missing.status_code, missing.media_type) == (404, "application/problem+json")


def test_a_replayed_reply_that_breaks_the_spec_says_so(lifecycle: Path) -> None:
    player = Player(lifecycle)
    player.create()
    intake = Intake({"key": "k"}, None, {"id": "349"}, ORIGIN, {})
    replayed = asyncio.run(player.replay.answer(OPERATIONS["fetch_v6"], intake))
    assert replayed is not None
    assert replayed.response.headers["x-mixmock-violations"].startswith("messege: undeclared")


def test_speed_must_be_positive(lifecycle: Path) -> None:
    with pytest.raises(ValueError, match="more than 0"):
        Replay(load_recording(lifecycle), 0.0, ManualClock(), WebhookPolicy())
