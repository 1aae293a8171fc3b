"""Choosing replies: Prefer header, rules file, ratios, REST statuses, mock faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.pipeline.rendering import EXAMPLE_HEADER, REQUEST_VIOLATIONS_HEADER
from tests.conftest import ClientFactory
from tests.unit.mock_server.bodies import CREATE_PATHS, FETCH_PATHS, valid_body, without

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]
IMG = CREATE_PATHS["img_mixer"]


@pytest.mark.parametrize(
    ("prefer", "status"),
    [
        ("scenario=success", "success"),
        ("scenario=processing", "processing"),
        ("scenario=failed", "failed"),
        ("scenario=error", "error"),
        ("Scenario=processing; x=1, eta=2", "processing"),
        ("respond-async, wait=10", "success"),
    ],
)
def test_prefer_scenario(mock_client: ClientFactory, prefer: str, status: str) -> None:
    with mock_client() as client:
        assert (
            client.post(IMG, json=valid_body("img_mixer"), headers={"Prefer": prefer}).json()["status"]
            == status
        )


@pytest.mark.parametrize(
    ("prefer", "words"),
    [
        ("scenario=slow", "scenario='slow'"),
        ("example=nope", "example='nope' is not an example of img_mixer"),
        ("code=418", "code='418'"),
        ("code=abc", "is not an HTTP status code"),
        ("eta=-1", "eta='-1'"),
        ("eta=soon", "eta='soon'"),
        ("polls=many", "polls='many'"),
    ],
)
def test_bad_preference_is_a_problem_naming_the_value(
    mock_client: ClientFactory, prefer: str, words: str
) -> None:
    with mock_client() as client:
        reply = client.post(IMG, json=valid_body("img_mixer"), headers={"Prefer": prefer})
    assert reply.status_code == 400
    assert reply.headers["content-type"] == "application/problem+json"
    assert words in reply.json()["detail"]


def test_contract_errors_win_over_preferences(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        reply = client.post(
            IMG, json=valid_body("img_mixer", steps=99), headers={"Prefer": "scenario=success"}
        )
    assert reply.json()["status"] == "error"
    assert "steps=99" in reply.headers[REQUEST_VIOLATIONS_HEADER]


@pytest.mark.parametrize(
    ("body", "prefer", "code", "example"),
    [
        (valid_body("img_mixer", key=""), "", 401, "error_invalid_key"),
        (valid_body("img_mixer", steps=0), "", 422, "error_validation"),
        (None, "", 400, "error_invalid_request"),
        (valid_body("img_mixer"), "example=error_rate_limit", 429, "error_rate_limit"),
        (valid_body("img_mixer"), "code=500", 500, "server_error_500"),
        (valid_body("img_mixer"), "code=503", 503, "server_error_503"),
        (valid_body("img_mixer"), "", 200, "success"),
        (valid_body("img_mixer"), "scenario=failed", 200, "failed"),
    ],
    ids=["key", "validation", "malformed", "rate-limit", "500", "503", "success", "failed"],
)
def test_rest_status_mode(
    mock_client: ClientFactory, body: dict[str, object] | None, prefer: str, code: int, example: str
) -> None:
    headers = {"Prefer": prefer} if prefer else {}
    with mock_client(error_status="rest") as client:
        reply = client.post(IMG, json=body, headers=headers) if body else client.post(IMG, content=b"{")
    assert reply.status_code == code
    assert reply.headers[EXAMPLE_HEADER] == example


def test_prefer_code_works_in_vendor_mode_too(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        reply = client.post(IMG, json=valid_body("img_mixer"), headers={"Prefer": "code=429"})
    assert (reply.status_code, reply.json()["retry_after"]) == (429, 30)


def test_rules_file_chooses_by_content(mock_client: ClientFactory, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - name: slow prompts queue\n"
        "    operation: img_mixer\n"
        "    when: {prompt: {contains: slow}}\n"
        "    then: {scenario: processing, eta: 7}\n"
        "  - when: {seed: 13}\n"
        "    then: {example: error_rate_limit}\n"
    )
    with mock_client(rules_file=str(rules)) as client:
        slow = client.post(IMG, json=valid_body("img_mixer", prompt="a SLOW rose")).json()
        unlucky = client.post(CREATE_PATHS["magic_mix_v5"], json=valid_body("magic_mix_v5", seed=13)).json()
        plain = client.post(IMG, json=valid_body("img_mixer")).json()
        header_wins = client.post(
            IMG, json=valid_body("img_mixer", prompt="slow"), headers={"Prefer": "scenario=success"}
        ).json()
    assert (slow["status"], slow["eta"]) == ("processing", 7)
    assert unlucky["message"].startswith("Rate limit exceeded")
    assert plain["status"] == "success"
    assert header_wins["status"] == "success"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("rules: [{when: {prompt: {near: x}}, then: {scenario: processing}}]", "unknown test 'near'"),
        ("rules: [{then: {scenario: later}}]", "scenario='later'"),
        ("rules: [{then: {}}]", "non-empty"),
        ("rules: [{when: {prompt: {matches: '('}}, then: {scenario: error}}]", "not a regular expression"),
        ("rules: {a: 1}", "list of rules"),
        ("rules: [{then: {scenario: error}, else: 1}]", "unknown keys"),
        ("rules: [{operation: img_mix, then: {scenario: error}}]", "'img_mix' names no operation"),
        ("rules: [{then: {scenaro: error}}]", "unknown names ['scenaro']"),
    ],
)
def test_bad_rules_file_fails_at_start_naming_the_value(tmp_path: Path, text: str, words: str) -> None:
    from mock_server.app import create_app
    from mock_server.settings import Settings, SettingsError

    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    with pytest.raises(SettingsError, match=r"rule") as raised:
        create_app(Settings(store=":memory:", rules_file=str(rules)))
    assert words in str(raised.value)


def test_processing_ratio(mock_client: ClientFactory) -> None:
    with mock_client(ratios={"processing": 0.3}, seed=1) as client:
        states = [client.post(IMG, json=valid_body("img_mixer")).json()["status"] for _ in range(200)]
    assert 40 <= states.count("processing") <= 80
    assert states.count("processing") + states.count("success") == 200


def test_full_ratios_cover_every_scenario(mock_client: ClientFactory) -> None:
    ratios = {"success": 0.25, "processing": 0.25, "error": 0.25, "failed": 0.25}
    with mock_client(ratios=ratios, seed=3) as client:
        states = {client.post(IMG, json=valid_body("img_mixer")).json()["status"] for _ in range(60)}
    assert states == {"success", "processing", "error", "failed"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/api/v6/image_editing/nothing", 404),
        ("POST", "/", 405),  # GET / is the index
        ("GET", IMG, 405),
        ("DELETE", FETCH_PATHS["img_mixer"].format(id=1), 405),
        ("GET", "/generations/not-a-file.png", 404),
        ("GET", "/generations/00000000-0000-4000-8000-000000000000.png", 404),
    ],
)
def test_mock_faults_are_problem_json(
    mock_client: ClientFactory, method: str, path: str, status: int
) -> None:
    with mock_client() as client:
        reply = client.request(method, path)
    assert reply.status_code == status
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["status"] == status


def test_health(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        assert client.get("/health").json()["status"] == "ok"


def test_headers_other_than_the_body_key_are_ignored(mock_client: ClientFactory) -> None:
    with mock_client(api_keys=frozenset({"right"})) as client:
        reply = client.post(IMG, json=without(valid_body("img_mixer"), "key"), headers={"X-API-Key": "right"})
    assert reply.json()["message"] == "Invalid Api Key"
