"""Recordings indexed for replay: mixmock's own notes, or other tools' HAR files understood by routing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mock_server.replay.recording import load_recording, match_key
from tests.unit.mock_server.replay.conftest import VENDOR, Tape, fetched, processing

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

BODY = {"key": "k", "prompt": "rose man", "init_image": ["https://img.example/a.png"]}


def _strip_notes(folder: Path) -> None:
    """What a browser or another proxy would have written: no `_mixmock` anywhere."""
    for path in folder.glob("*.har"):
        document = json.loads(path.read_text())
        document["log"].pop("_mixmock")
        for entry in document["log"]["entries"]:
            entry.pop("_mixmock")
        path.write_text(json.dumps(document, indent=1))


def test_another_tools_har_is_understood_by_routing(tmp_path: Path) -> None:
    tape = Tape()
    tape.create(0.0, BODY, processing(7))
    tape.fetch(1.0, 7, fetched("success", 7))
    tape.download(2.0, "https://pub-1.r2.dev/generations/7-0.png", b"png")
    _strip_notes(tape.save(tmp_path))
    recording = load_recording(tmp_path)
    lifecycle = recording.lifecycles[("v6", "7")]
    assert lifecycle.create is not None
    assert [fetch.kind for fetch in lifecycle.fetches] == ["fetch"]
    assert recording.plan.target == VENDOR
    assert list(recording.files) == ["https://pub-1.r2.dev/generations/7-0.png"]
    assert recording.plan.may_download("https://pub-1.r2.dev/generations/8-0.png")


def test_the_proxys_own_answers_are_not_replayed(tmp_path: Path) -> None:
    tape = Tape()
    tape.create(0.0, BODY, processing(7))
    tape.entries[0]["_mixmock"]["answered_by"] = "proxy"
    assert load_recording(tape.save(tmp_path)).creates == {}


def test_redacted_fields_are_left_out_of_matching(tmp_path: Path) -> None:
    tape = Tape()
    tape.notes["redacted"] = ["key", "prompt"]
    tape.create(0.0, {**BODY, "prompt": "[redacted]"}, processing(7))
    recording = load_recording(tape.save(tmp_path))
    assert recording.match_key({**BODY, "prompt": "another secret prompt"}) in {
        key for _, key in recording.creates
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"key": "a", "webhook": "http://x", "steps": 1}, '{"steps":1}'),
        ({"b": 1, "a": [1, {"z": 1, "y": 2}]}, '{"a":[1,{"y":2,"z":1}],"b":1}'),
        ([1], None),
    ],
    ids=["key-and-webhook-left-out", "canonical-order", "not-an-object"],
)
def test_match_key(body: Any, expected: str | None) -> None:
    assert match_key(body) == expected


def test_a_broken_entry_is_named(tmp_path: Path) -> None:
    (tmp_path / "x.har").write_text(json.dumps({"log": {"version": "1.2", "entries": [{"request": {}}]}}))
    with pytest.raises(ValueError, match=r"x\.har, entry 0: not a HAR entry"):
        load_recording(tmp_path)
