"""Secrets leave an exchange before it is written: by field, by header, and wherever their value appears."""

from __future__ import annotations

import json

import pytest

from mock_server.proxy.redaction import REDACTED, Redactor

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

KEY = "sk-live/0123456789abcdef"


def _redactor(*names: str) -> Redactor:
    redactor = Redactor(names, names)
    redactor.learn_body({"key": KEY, "prompt": "a secret prompt", "nested": [{"key": "second-key-value"}]})
    return redactor


@pytest.mark.parametrize(
    "spelling",
    [KEY, KEY.replace("/", "\\/"), "sk-live%2F0123456789abcdef", "second-key-value"],
    ids=["plain", "escaped-slash", "percent-encoded", "nested-field"],
)
def test_every_spelling_of_a_key_is_scrubbed(spelling: str) -> None:
    assert (
        _redactor().text(f"url?key={spelling}&x=1 then {spelling}.")
        == f"url?key={REDACTED}&x=1 then {REDACTED}."
    )


def test_fields_are_replaced_at_any_depth_and_other_values_kept() -> None:
    redacted = _redactor("prompt").json(
        {"key": KEY, "prompt": "a secret prompt", "list": [{"key": 1}], "steps": 41}
    )
    assert redacted == {"key": REDACTED, "prompt": REDACTED, "list": [{"key": REDACTED}], "steps": 41}


def test_a_document_keeps_every_byte_but_the_secrets() -> None:
    text = '{"status":"error", "key" : "sk-live\\/0123456789abcdef","eta":13.0679869184,"u":"https:\\/\\/x"}'
    kept = _redactor().document(text, json.loads(text))
    assert kept == '{"status":"error", "key" : "[redacted]","eta":13.0679869184,"u":"https:\\/\\/x"}'


def test_a_redacted_object_field_re_encodes_the_document() -> None:
    redactor = _redactor("meta")
    text = '{"meta": {"prompt": "p", "seed": 1}, "id": 3}'
    assert json.loads(redactor.document(text, json.loads(text))) == {"meta": REDACTED, "id": 3}


def test_auth_headers_and_named_headers_are_redacted() -> None:
    redactor = Redactor((), ("X-Team-Token",))
    headers = [
        ("Authorization", "Bearer tok-123456789"),
        ("key", KEY),
        ("x-team-token", "t"),
        ("accept", "*/*"),
    ]
    redactor.learn_headers(headers)
    assert [redactor.header(name, value) for name, value in headers] == [REDACTED, REDACTED, REDACTED, "*/*"]
    assert redactor.text("echo tok-123456789 and " + KEY) == f"echo {REDACTED} and {REDACTED}"


def test_a_short_test_key_is_replaced_only_where_it_stands_alone() -> None:
    redactor = Redactor()
    redactor.learn_body({"key": "test"})
    assert (
        redactor.text('{"key":"test","kind":"testing"} test')
        == '{"key":"[redacted]","kind":"testing"} [redacted]'
    )


def test_a_tiny_value_is_redacted_by_its_field_only() -> None:
    redactor = Redactor(("seed",))
    redactor.learn_body({"key": "k", "seed": 7})
    text = '{"key":"k","seed":7,"id":7,"fetch_result":"https://h/fetch/7"}'
    assert redactor.document(text, {"key": "k", "seed": 7}) == (
        '{"key":"[redacted]","seed":"[redacted]","id":7,"fetch_result":"https://h/fetch/7"}'
    )


def test_secrets_remembered_are_bounded() -> None:
    redactor = Redactor()
    for number in range(1000):
        redactor.learn_body({"key": f"key-number-{number:04d}"})
    assert redactor.text("key-number-0999") == REDACTED
    assert redactor.text("key-number-0000") == "key-number-0000"  # the oldest is forgotten


def test_redacted_names_in_a_query_are_learned_from_the_url() -> None:
    redactor = Redactor(("token",))
    redactor.learn_url("http://127.0.0.1:9/hook?token=hook-secret-42&plain=1")
    assert redactor.url("http://127.0.0.1:9/hook?token=hook-secret-42&plain=1") == (
        "http://127.0.0.1:9/hook?token=%5Bredacted%5D&plain=1"
    )
