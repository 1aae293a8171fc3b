"""The admin API as the app mounts it: journal entries from real requests, the switch and the token."""

from __future__ import annotations

from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.settings import Settings
from tests.unit.mock_server.bodies import CREATE_PATHS, FETCH_PATHS, valid_body

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

BASE = Settings(store=":memory:", strict=True)


def test_the_journal_records_what_was_sent_and_why() -> None:
    with TestClient(create_app(BASE)) as client:
        made = client.post(CREATE_PATHS["img_mixer"], json=valid_body("img_mixer", key="secret")).json()
        client.post(CREATE_PATHS["img_mixer"], json=valid_body("img_mixer", steps=99))
        client.post(FETCH_PATHS["img_mixer"].format(id=made["id"]), json={"key": "secret"})
        client.post("/api/v9/nowhere", json={})
        entries = client.get("/_mixmock/requests").json()["requests"]
        steps_41 = client.get("/_mixmock/requests?operation=img_mixer&body.steps=41").json()["requests"]
    assert [(e["operation"], e["status"], e["why"].split(":")[0]) for e in entries] == [
        ("img_mixer", "success", "default"),
        ("img_mixer", "error", "violations"),
        ("fetch_v6", "success", "job state"),
        (None, None, "problem"),
    ]
    assert entries[0]["job_id"] == made["id"]
    assert entries[0]["body"]["key"] == "[redacted]"
    assert "secret" not in str(entries)
    assert [e["seq"] for e in steps_41] == [entries[0]["seq"]]


def test_defaults_apply_to_creates_and_the_request_header_wins() -> None:
    with TestClient(create_app(BASE)) as client:
        client.put("/_mixmock/defaults", json={"prefer": "scenario=processing"})
        queued = client.post(CREATE_PATHS["img_mixer"], json=valid_body("img_mixer")).json()
        own = client.post(
            CREATE_PATHS["img_mixer"], json=valid_body("img_mixer"), headers={"Prefer": "scenario=success"}
        ).json()
    assert queued["status"] == "processing"
    assert own["status"] == "success"


def test_admin_can_be_switched_off() -> None:
    with TestClient(create_app(replace(BASE, admin="off"))) as client:
        reply = client.get("/_mixmock/requests")
    assert reply.status_code == 404
    assert reply.json()["type"].endswith("no-route")


def test_an_admin_token_is_required_when_configured() -> None:
    with TestClient(create_app(replace(BASE, admin_token="t0ken"))) as client:
        refused = client.get("/_mixmock/jobs")
        allowed = client.get("/_mixmock/jobs", headers={"Authorization": "Bearer t0ken"})
    assert (refused.status_code, allowed.status_code) == (401, 200)
