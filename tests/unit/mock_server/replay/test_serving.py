"""`mixmock serve --replay DIR`: the hook after intake answers from the recording, the spec the rest."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from mock_server.tooling.cli import main
from tests.conftest import ClientFactory
from tests.unit.mock_server.replay.conftest import Tape, fetched, processing

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

BODY = {"key": "k", "prompt": "rose man", "init_image": ["https://img.example/a.png"], "steps": 41}
CREATE = "/api/v6/image_editing/img_mixer"


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    tape = Tape()
    tape.create(0.0, BODY, processing(349))
    tape.fetch(1.0, 349, fetched("success", 349))
    tape.download(2.0, "https://pub-1.r2.dev/generations/349-0.png", b"\x89PNG-349")
    return tape.save(tmp_path)


def test_a_recorded_lifecycle_replays_and_the_journal_says_so(
    mock_client: ClientFactory, recording: Path
) -> None:
    with mock_client(replay_dir=str(recording), replay_speed=float("inf")) as client:
        queued = client.post(CREATE, json=BODY).json()
        done = client.post(queued["fetch_result"], json={"key": "k"}).json()
        image = client.get(done["output"][0])
        journal = client.get("/_mixmock/requests").json()
    assert (queued["id"], queued["fetch_result"]) == (349, "http://mock.test/api/v6/image_editing/fetch/349")
    assert (
        done["output"]
        == queued["future_links"]
        == ["http://mock.test/_recorded/https/pub-1.r2.dev/generations/349-0.png"]
    )
    assert (image.status_code, image.content) == (200, b"\x89PNG-349")
    assert [(entry["why"], entry["job_id"], entry["status"]) for entry in journal["requests"]] == [
        ("replay: a.har#0", 349, "processing"),
        ("replay: a.har#1", 349, "success"),
    ]


def test_what_the_recording_lacks_the_spec_answers(mock_client: ClientFactory, recording: Path) -> None:
    with mock_client(replay_dir=str(recording), replay_speed=float("inf")) as client:
        other = client.post(CREATE, json={**BODY, "steps": 20})
        unknown = client.post("/api/v6/image_editing/fetch/350", json={"key": "k"}).json()
        no_file = client.get("/_recorded/https/pub-1.r2.dev/generations/350-0.png")
    assert (other.json()["status"], other.headers["x-mixmock-example"]) == ("success", "success")
    assert "x-mixmock-replay" not in other.headers
    assert unknown["message"] == "Request not found"
    assert no_file.status_code == 404


def test_a_job_the_mock_made_is_answered_by_the_spec_though_the_recording_has_its_id(
    mock_client: ClientFactory, tmp_path: Path
) -> None:
    tape = Tape()
    tape.create(0.0, BODY, processing(1))
    tape.fetch(1.0, 1, fetched("success", 1))
    with mock_client(replay_dir=str(tape.save(tmp_path)), replay_speed=float("inf")) as client:
        own = client.post(CREATE, json={**BODY, "steps": 20}).json()  # no recorded create matches
        fetched_own = client.post("/api/v6/image_editing/fetch/1", json={"key": "k"})
    assert own["id"] == 1
    assert "x-mixmock-replay" not in fetched_own.headers
    assert fetched_own.json()["output"] == own["output"]


def test_without_a_replay_the_recorded_path_is_no_route(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        reply = client.get("/_recorded/https/pub-1.r2.dev/generations/349-0.png")
    assert (reply.status_code, reply.headers["content-type"]) == (404, "application/problem+json")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["serve", "--replay", "/nonexistent/recordings"], "setting 'replay_dir': recording directory"),
        (["serve", "--replay", ".", "--workers", "2"], "use it with --workers 1"),
        (["serve", "--replay-speed", "0"], "'replay_speed' = 0.0"),
    ],
    ids=["missing-directory", "workers", "speed-zero"],
)
def test_bad_replay_settings_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], words: str) -> None:
    """Refused before the launch is announced: no startup block; the caller's logging is left as it was."""
    assert main([*argv, "--store", ":memory:"]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert "serves the vendor's routes" not in err
    assert logging.getLogger("mixmock").propagate
