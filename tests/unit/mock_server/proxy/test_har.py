"""HAR 1.2 recordings: valid after every append, redacted, bounded, readable after a crash."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from mock_server.proxy.har import Exchange, HarWriter, har_entry, read_har, read_recordings
from mock_server.proxy.redaction import REDACTED, Redactor
from tests.har_schema import har_errors

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

KEY = "sk-test-0123456789"


def _exchange(**changes: object) -> Exchange:
    body = {"key": KEY, "prompt": "rose man"}
    reply = b'{"status":"success","id":1,"output":["https:\\/\\/cdn.example\\/a.png"]}'
    exchange = Exchange(
        started_at=1_700_000_000.25,
        method="POST",
        url=f"https://modelslab.com/api/v6/image_editing/img_mixer?key={KEY}",
        request_headers=[("content-type", "application/json"), ("authorization", f"Bearer {KEY}")],
        request_body=json.dumps(body).encode(),
        status=200,
        reason="OK",
        reply_headers=[("content-type", "application/json")],
        reply_body=reply,
        wait_s=0.5,
        receive_s=0.01,
        request_json=body,
        reply_json=json.loads(reply),
        notes={"kind": "create", "operation": "img_mixer", "request_violations": [f"key {KEY}"]},
    )
    for name, value in changes.items():
        setattr(exchange, name, value)
    return exchange


def _redactor() -> Redactor:
    redactor = Redactor()
    redactor.learn_body({"key": KEY})
    return redactor


def test_an_entry_is_har_and_holds_no_key() -> None:
    entry = har_entry(_exchange(), _redactor())
    document = {"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [entry]}}
    assert har_errors(document) == []
    assert KEY not in json.dumps(entry)
    assert entry["request"]["queryString"] == [{"name": "key", "value": REDACTED}]
    assert json.loads(entry["request"]["postData"]["text"]) == {"key": REDACTED, "prompt": "rose man"}
    assert entry["response"]["content"]["text"].startswith(
        '{"status":"success","id":1,"output":["https:\\/\\/'
    )
    assert (entry["time"], entry["timings"]["wait"]) == (510.0, 500.0)


def test_binary_content_is_base64() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    entry = har_entry(
        _exchange(reply_body=png, reply_headers=[("content-type", "image/png")], reply_json=None), _redactor()
    )
    content = entry["response"]["content"]
    assert (content["encoding"], base64.b64decode(content["text"]), content["size"]) == (
        "base64",
        png,
        len(png),
    )


def test_the_file_is_a_har_document_after_every_append(tmp_path: Path) -> None:
    writer = HarWriter(tmp_path / "a.har", {"target": "https://modelslab.com"}, max_bytes=1 << 20)
    assert read_har(writer.path)["log"]["entries"] == []
    for number in range(3):
        assert writer.append(har_entry(_exchange(status=200 + number), _redactor()))
        document = json.loads(writer.path.read_text())
        assert har_errors(document) == []
        assert [entry["response"]["status"] for entry in document["log"]["entries"]] == list(
            range(200, 201 + number)
        )
    assert document["log"]["_mixmock"] == {"target": "https://modelslab.com"}
    assert writer.size == writer.path.stat().st_size


def test_the_size_limit_stops_the_recording(tmp_path: Path) -> None:
    writer = HarWriter(tmp_path / "a.har", {}, max_bytes=2500)
    results = [writer.append(har_entry(_exchange(), _redactor())) for _ in range(5)]
    assert results[0]
    assert not results[-1]
    assert writer.full
    assert writer.path.stat().st_size <= 2500
    assert len(read_har(writer.path)["log"]["entries"]) == results.count(True)


def test_a_file_cut_short_is_read_to_its_last_whole_entry(tmp_path: Path) -> None:
    writer = HarWriter(tmp_path / "a.har", {}, max_bytes=1 << 20)
    for _ in range(2):
        writer.append(har_entry(_exchange(), _redactor()))
    text = writer.path.read_text()
    writer.path.write_text(
        text[: text.rindex("\n]}}")] + ',\n{"startedDateTime": "2026-'
    )  # a crash mid-append
    assert len(read_har(writer.path)["log"]["entries"]) == 2


def test_another_tools_pretty_printed_har_is_read(tmp_path: Path) -> None:
    document = {
        "log": {
            "version": "1.2",
            "creator": {"name": "x", "version": "1"},
            "entries": [har_entry(_exchange(), _redactor())],
        }
    }
    (tmp_path / "browser.har").write_text(json.dumps(document, indent=2))
    [(path, read)] = read_recordings(tmp_path)
    assert (path.name, read) == ("browser.har", document)


@pytest.mark.parametrize(
    ("files", "words"),
    [
        ({}, r"holds no \*\.har file"),
        ({"a.har": "not json"}, "is not a HAR file"),
        ({"a.har": '{"log": {}}'}, "no log.entries"),
    ],
    ids=["empty", "not-json", "no-entries"],
)
def test_unreadable_recordings_are_named(tmp_path: Path, files: dict[str, str], words: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=words):
        read_recordings(tmp_path)


def test_a_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        read_recordings(tmp_path / "nope")
