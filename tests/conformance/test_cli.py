"""The command line end to end: reports, exit codes, baseline, and the key never written anywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import KEY_ENV, main
from mock_server.app import create_app
from mock_server.tooling.testing import free_port, running_server
from tests.conformance.conftest import mock_settings
from tests.conformance.defects import Defect, json_reply

pytestmark = pytest.mark.conformance

SECRET = "sk-live-7f3a9c0e-never-print-me"


def _echo_key_when_prompt_is_a(path: str, body: dict[str, Any]) -> dict[str, Any]:
    # A target that leaks the key into an error message (and wrongly rejects a valid prompt).
    if (
        body.get("status") == "success"
        and isinstance(body.get("meta"), dict)
        and body["meta"].get("prompt") == "a"
    ):
        return {"status": "error", "message": f"key {SECRET} may not use prompt a"}
    return body


def test_no_report_contains_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = Defect(
        create_app(mock_settings(api_keys=frozenset({SECRET}))), reply=json_reply(_echo_key_when_prompt_is_a)
    )
    monkeypatch.setenv(KEY_ENV, SECRET)
    with running_server(app) as url:
        code = main(
            [
                "--base-url",
                url,
                "--tier",
                "smoke,ranges,full,stateful",
                "--fuzz-examples",
                "2",
                "--poll-interval",
                "0.02",
                "--operations",
                "img_mixer,fetch_v6",
                "--report-dir",
                str(tmp_path),
            ]
        )
    out, err = capsys.readouterr()
    assert code == 1
    written = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    assert sorted(written) == ["audit.html", "audit.json", "cassette.ndjson", "junit.xml"]
    for text in [out, err, *written.values()]:
        assert SECRET not in text
    exchanges = [json.loads(line) for line in written["cassette.ndjson"].splitlines()]
    assert len(exchanges) == json.loads(written["audit.json"])["requests"]
    keyed = [entry["request"] for entry in exchanges if isinstance(entry["request"], dict)]
    assert {request["key"] for request in keyed if "key" in request} == {"[Filtered]"}
    assert any(entry["reply"].get("bytes", 0) > 0 for entry in exchanges if entry["method"] == "GET")
    report = json.loads(written["audit.json"])
    assert [finding["text"] for finding in report["findings"]] == [
        'img_mixer prompt: minLength 1, sent "a", rejected: "key [Filtered] may not use prompt a"'
    ]


def test_exit_code_zero_on_a_conformant_target_and_reports_are_written(tmp_path: Path) -> None:
    with running_server(create_app(mock_settings())) as url:
        code = main(
            [
                "--base-url",
                url,
                "--key",
                "test-key",
                "--tier",
                "smoke",
                "--quiet",
                "--report-dir",
                str(tmp_path),
            ]
        )
    assert code == 0
    report = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert report["conformant"] is True
    assert "<testsuites" in (tmp_path / "junit.xml").read_text(encoding="utf-8")


def test_baseline_reports_only_new_findings(tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.json"
    observed = create_app(mock_settings(profile="observed", quirks=("escaped_slashes",)))
    common = ["--key", "test-key", "--quiet", "--baseline", str(baseline), "--poll-interval", "0.02"]
    smoke = ["--tier", "smoke", "--operations", "img_mixer"]
    with running_server(observed) as url:
        assert main(["--base-url", url, *common, *smoke, "--write-baseline"]) == 0
        assert main(["--base-url", url, *common, *smoke]) == 0
    keys = [entry["key"] for entry in json.loads(baseline.read_text(encoding="utf-8"))["findings"]]
    assert keys == ["img_mixer reply: slashes are not escaped in JSON"]
    with_new_quirk = create_app(mock_settings(profile="observed", quirks=("escaped_slashes", "eta_float")))
    stateful = ["--tier", "smoke,stateful", "--operations", "img_mixer,fetch_v6"]
    with running_server(with_new_quirk) as url:
        assert main(["--base-url", url, *common, *stateful]) == 1


def test_an_unreachable_target_exits_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["--base-url", url, "--key", "k", "--tier", "smoke", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach {url}" in err
    assert "Traceback" not in err
