"""The learn report: each observed quirk found where the vendor (the mock here) shows it, nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mock_server.app import create_app
from mock_server.pipeline.quirks import QUIRKS
from mock_server.proxy.learn import DETECTORS, learn_report
from mock_server.proxy.report import write_report
from mock_server.settings import Settings
from mock_server.state.clock import ManualClock
from openapi.operations import load_operations
from tests.unit.mock_server.proxy.conftest import KEY, proxied
from tests.unit.mock_server.replay.conftest import Tape, processing

pytestmark = [pytest.mark.unit, pytest.mark.timeout(120)]

CREATES = [operation for operation in load_operations() if operation.kind == "create"]


def _exercise(folder: Path, **vendor: Any) -> None:
    """Every create operation queued and fetched to success, plus a validation and a rate-limit error."""
    app = create_app(Settings(store=":memory:", access_log=False, **vendor), clock=ManualClock())
    with proxied(app, record=str(folder)) as p:
        for operation in CREATES:
            body = {**operation.request_example, "key": KEY}
            queued = p.client.post(
                operation.full_path, json=body, headers={"Prefer": "scenario=processing, polls=1"}
            )
            for _ in range(2):
                p.client.post(queued.json()["fetch_result"], json={"key": KEY})
        path = CREATES[0].full_path
        p.client.post(path, json={"key": KEY})
        p.client.post(
            path,
            json={**CREATES[0].request_example, "key": KEY},
            headers={"Prefer": "example=error_rate_limit"},
        )


def test_every_quirk_has_a_detector() -> None:
    assert sorted(DETECTORS) == sorted(quirk.name for quirk in QUIRKS)


def test_a_documented_vendor_shows_no_quirk_and_no_difference(tmp_path: Path) -> None:
    _exercise(tmp_path)
    report = learn_report(tmp_path)
    assert {quirk.name: quirk.verdict for quirk in report.quirks} == {
        quirk.name: "not seen" for quirk in QUIRKS
    }
    assert report.differences == []
    assert report.suggested == []
    assert report.counts == {"create": 5, "fetch": 6, "jobs": 3}


@pytest.mark.parametrize("quirk", [quirk.name for quirk in QUIRKS])
def test_each_quirk_is_found_alone_and_explains_its_differences(tmp_path: Path, quirk: str) -> None:
    _exercise(tmp_path, profile="observed", quirks=(quirk,))
    report = learn_report(tmp_path)
    verdicts = {evidence.name: evidence.verdict for evidence in report.quirks}
    assert verdicts.pop(quirk) == "seen"
    assert set(verdicts.values()) == {"not seen"}
    assert report.suggested == [quirk]
    assert report.differences == []


def test_new_differences_and_quirks_out_of_place_are_listed(tmp_path: Path) -> None:
    body = {"key": "k", "prompt": "rose man", "init_image": ["https://img.example/a.png"]}
    tape = Tape()
    queued = {
        **processing(7),
        "tip_1": "legacy tip",
        "messege": "Try to fetch request after seconds estimated",
    }
    del queued["message"]
    tape.create(0.0, body, queued)
    tape.fetch(
        1.0, 7, {"status": "success", "id": "7", "output": ["https://pub-1.r2.dev/generations/7-0.png"]}
    )
    report = learn_report(tape.save(tmp_path))
    messege = next(quirk for quirk in report.quirks if quirk.name == "messege_typo")
    assert (messege.verdict, messege.seen_elsewhere, messege.in_scope) == ("seen elsewhere", 1, 0)
    found = {(d.operation, d.status, d.field, d.keyword, d.count, d.out_of) for d in report.differences}
    assert found == {
        ("img_mixer", "processing", "tip_1", "undeclared", 1, 1),
        ("fetch_v6", "success", "id", "type", 1, 1),
    }
    text, data = write_report(report, tmp_path)
    assert "`tip_1` (undeclared)" in text.read_text()
    assert '"7"' in text.read_text()
    assert json.loads(data.read_text())["suggested_quirks"] == ["messege_typo", "escaped_slashes"]


def test_a_reply_without_a_slash_is_no_evidence_about_escaping(tmp_path: Path) -> None:
    tape = Tape()
    body = {"key": "k", "prompt": "p", "init_image": ["https://a/b.png"]}
    tape.create(0.0, body, {"status": "error", "message": "Invalid Api Key"})
    verdicts = {quirk.name: quirk.verdict for quirk in learn_report(tape.save(tmp_path)).quirks}
    assert verdicts["escaped_slashes"] == "no evidence"
