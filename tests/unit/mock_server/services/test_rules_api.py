"""`/_mixmock/rules` on the app: rules added, listed, replaced and removed while the mock runs, matched
before the rules file's, a bad rule a 400 problem naming its field, access as the admin API's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ClientFactory
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

IMG = CREATE_PATHS["img_mixer"]
RULES = "/_mixmock/rules"
QUEUE_SLOW: dict[str, Any] = {
    "name": "slow prompts queue",
    "operation": "img_mixer",
    "when": {"prompt": {"contains": "slow"}},
    "then": {"scenario": "processing", "eta": 7},
}


def test_an_added_rule_chooses_the_reply_at_once(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        before = client.post(IMG, json=valid_body("img_mixer", prompt="slow rose")).json()
        added = client.post(RULES, json=QUEUE_SLOW)
        slow = client.post(IMG, json=valid_body("img_mixer", prompt="slow rose")).json()
        other = client.post(IMG, json=valid_body("img_mixer")).json()
    assert before["status"] == "success"
    assert added.status_code == 201
    assert added.json() == {"source": "api", "id": "r1", **QUEUE_SLOW}
    assert added.headers["location"] == f"{RULES}/r1"
    assert (slow["status"], slow["eta"]) == ("processing", 7)
    assert other["status"] == "success"


def test_list_get_and_remove_by_id_or_name(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        client.post(RULES, json=QUEUE_SLOW)
        client.post(RULES, json={"then": {"scenario": "failed"}})
        listed = client.get(RULES).json()
        by_name = client.get(f"{RULES}/slow prompts queue").json()
        by_id = client.get(f"{RULES}/r2").json()
        removed = client.delete(f"{RULES}/slow prompts queue")
        again = client.delete(f"{RULES}/slow prompts queue")
        left = client.get(RULES).json()["rules"]
        reply = client.post(IMG, json=valid_body("img_mixer", prompt="slow")).json()
    assert [(rule["id"], rule["name"]) for rule in listed["rules"]] == [
        ("r1", "slow prompts queue"),
        ("r2", "r2"),
    ]
    assert "first rule that matches" in listed["precedence"]
    assert listed["file"] is None
    assert by_name["id"] == "r1"
    assert by_id["then"] == {"scenario": "failed"}
    assert removed.status_code == 200
    assert removed.json()["id"] == "r1"
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"
    assert [rule["id"] for rule in left] == ["r2"]
    assert reply["status"] == "failed"


def test_put_replaces_every_run_time_rule_and_delete_removes_them(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        client.post(RULES, json=QUEUE_SLOW)
        replaced = client.put(RULES, json=[{"name": "fail all", "then": {"scenario": "failed"}}]).json()
        failed = client.post(IMG, json=valid_body("img_mixer")).json()
        cleared = client.delete(RULES).json()
        plain = client.post(IMG, json=valid_body("img_mixer")).json()
    assert [rule["name"] for rule in replaced["rules"]] == ["fail all"]
    assert failed["status"] == "failed"
    assert cleared["rules"] == []
    assert plain["status"] == "success"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**QUEUE_SLOW, "then": {"scenario": "later"}}, "then.scenario"),
        ({**QUEUE_SLOW, "when": {"prompt": {"near": "x"}}}, "when.prompt"),
        ({**QUEUE_SLOW, "operation": "img_mix"}, "operation"),
        ({**QUEUE_SLOW, "thenn": {}}, "thenn"),
    ],
    ids=["scenario", "test", "operation", "unknown-key"],
)
def test_a_bad_rule_is_a_400_problem_naming_the_field(
    mock_client: ClientFactory, body: dict[str, Any], field: str
) -> None:
    with mock_client() as client:
        reply = client.post(RULES, json=body)
        listed = client.get(RULES).json()
    assert reply.status_code == 400
    assert reply.headers["content-type"] == "application/problem+json"
    problem = reply.json()
    assert problem["field"] == field
    assert field.split(".")[-1] in problem["detail"]
    assert listed["rules"] == []


@pytest.mark.parametrize(
    ("raw", "words"),
    [(b"{", "not valid JSON"), (b"[]", "a rule is a JSON object")],
    ids=["not-json", "not-object"],
)
def test_a_body_that_is_no_rule_is_a_400_problem(mock_client: ClientFactory, raw: bytes, words: str) -> None:
    with mock_client() as client:
        reply = client.post(RULES, content=raw, headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    assert words in reply.json()["detail"]


def test_a_taken_name_is_a_409_problem(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        client.post(RULES, json=QUEUE_SLOW)
        reply = client.post(RULES, json=QUEUE_SLOW)
    assert reply.status_code == 409
    assert reply.json()["field"] == "name"


def test_the_rules_file_shows_after_the_run_time_rules_and_is_not_removed_here(
    mock_client: ClientFactory, tmp_path: Path
) -> None:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text("rules: [{name: everything queues, then: {scenario: processing}}]\n")
    with mock_client(rules_file=str(rules_file)) as client:
        queued = client.post(IMG, json=valid_body("img_mixer")).json()
        client.post(RULES, json={"name": "fail all", "then": {"scenario": "failed"}})
        failed = client.post(IMG, json=valid_body("img_mixer")).json()
        listed = client.get(RULES).json()
        refused = client.delete(f"{RULES}/file-1")
        header_wins = client.post(
            IMG, json=valid_body("img_mixer"), headers={"Prefer": "scenario=success"}
        ).json()
    assert queued["status"] == "processing"
    assert failed["status"] == "failed"  # a run-time rule comes before the file's
    assert [(rule["source"], rule["name"]) for rule in listed["rules"]] == [
        ("api", "fail all"),
        ("file", "everything queues"),
    ]
    assert listed["file"] == {"path": str(rules_file), "rules": 1, "error": None}
    assert refused.status_code == 409
    assert "edit the file" in refused.json()["detail"]
    assert header_wins["status"] == "success"


def test_reset_removes_the_run_time_rules(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        client.post(RULES, json=QUEUE_SLOW)
        client.post("/_mixmock/reset")
        assert client.get(RULES).json()["rules"] == []


def test_the_admin_token_guards_the_rules(mock_client: ClientFactory) -> None:
    with mock_client(admin_token="s3cret") as client:
        refused = client.post(RULES, json=QUEUE_SLOW)
        allowed = client.post(RULES, json=QUEUE_SLOW, headers={"Authorization": "Bearer s3cret"})
    assert refused.status_code == 401
    assert allowed.status_code == 201


def test_without_the_admin_api_there_is_no_rules_api(mock_client: ClientFactory) -> None:
    with mock_client(admin="off") as client:
        reply = client.get(RULES)
    assert reply.status_code == 404


def test_a_rules_change_naming_another_session_in_the_query_is_refused(mock_client: ClientFactory) -> None:
    rule = {"when": {"prompt": {"contains": "boom"}}, "then": {"scenario": "failed"}}
    with mock_client() as client:
        assert client.post("/_session/t1/_mixmock/rules", json=rule).status_code == 201
        for method in ("POST", "PUT", "DELETE"):
            refused = client.request(method, "/_mixmock/rules", params={"session": "t1"}, json=[rule])
            assert refused.status_code == 400, (method, refused.text)
            assert "'t1'" in refused.json()["detail"]
        assert client.delete("/_mixmock/rules/r1", params={"session": "t1"}).status_code == 400
        assert client.get("/_mixmock/rules").json()["rules"] == []  # nothing landed in the default session
        looked = client.get("/_mixmock/rules", params={"session": "t1"}).json()["rules"]
        assert [found["id"] for found in looked] == ["r1"]
        assert client.get("/_mixmock/rules/r1", params={"session": "t1"}).json()["id"] == "r1"
        assert len(client.get("/_session/t1/_mixmock/rules").json()["rules"]) == 1


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        pytest.param("/_session/t1/_mixmock/rules", {}, id="path"),
        pytest.param("/_mixmock/rules", {"X-Mixmock-Session": "t1"}, id="header"),
    ],
)
def test_the_location_of_a_sessions_rule_keeps_the_session(
    mock_client: ClientFactory, path: str, headers: dict[str, str]
) -> None:
    rule = {"when": {"prompt": {"contains": "boom"}}, "then": {"scenario": "failed"}}
    with mock_client() as client:
        client.post("/_mixmock/rules", json={**rule, "name": "the-default-sessions"})  # r1 of the default
        added = client.post(path, json=rule, headers=headers)
        assert added.status_code == 201
        assert added.headers["location"] == "/_session/t1/_mixmock/rules/r1"
        followed = client.get(added.headers["location"])  # a client that follows it, with no header
        assert followed.json()["when"] == rule["when"]
