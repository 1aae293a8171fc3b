"""Bodies that are not a JSON object get the vendor's "Invalid API Request" reply, never a 500."""

from __future__ import annotations

import pytest

from mock_server.pipeline.intake import MAX_BODY_BYTES, parse_body, valid_host
from tests.conftest import ClientFactory
from tests.unit.mock_server.bodies import CREATE_PATHS, FETCH_PATHS

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

JSON = "application/json"
MALFORMED = [
    pytest.param(JSON, b'{"key": "k",', "not valid JSON", id="truncated-json"),
    pytest.param(JSON, b"{'key': 'k'}", "not valid JSON", id="single-quotes"),
    pytest.param(JSON, b'{"steps": NaN}', "not valid JSON", id="nan-literal"),
    pytest.param(JSON, b"", "empty", id="empty-body"),
    pytest.param(JSON, b"  \n", "empty", id="blank-body"),
    pytest.param("text/plain", b'{"key": "k"}', "not application/json", id="text-plain"),
    pytest.param("", b'{"key": "k"}', "not application/json", id="no-content-type"),
    pytest.param("application/x-www-form-urlencoded", b"key=k", "not application/json", id="form"),
    pytest.param(JSON, b"[1, 2]", "JSON array, not an object", id="array"),
    pytest.param(JSON, b'"text"', "JSON string, not an object", id="string"),
    pytest.param(JSON, b"42", "JSON number, not an object", id="number"),
    pytest.param(JSON, b"null", "JSON null, not an object", id="null"),
    pytest.param(JSON, b"[" * 100_000 + b"]" * 100_000, "nests deeper than 32 levels", id="deep-nesting"),
    pytest.param(JSON, b'{"steps": ' + b"9" * 5000 + b"}", "is out of range", id="5000-digit-integer"),
    pytest.param(JSON, b'{"key": "\xff"}', "not UTF-8", id="not-utf8"),
    pytest.param(JSON, b" " * (MAX_BODY_BYTES + 1) + b"{}", "larger than", id="too-large"),
]


@pytest.mark.parametrize(("content_type", "raw", "why"), MALFORMED)
def test_parse_body_says_why(content_type: str, raw: bytes, why: str) -> None:
    body, problem = parse_body(content_type, raw)
    assert body is None
    assert problem is not None
    assert why in problem


@pytest.mark.parametrize(
    "content_type", [JSON, "application/json; charset=utf-8", "application/vnd.api+json"]
)
def test_json_media_types_are_read(content_type: str) -> None:
    assert parse_body(content_type, b'{"a": 1}') == ({"a": 1}, None)


def test_float_overflow_is_refused_naming_the_number() -> None:
    body, problem = parse_body(JSON, b'{"guidance_scale": -1e400}')
    assert body is None
    assert problem is not None
    assert "-1e400 is out of range" in problem


@pytest.mark.parametrize("path", [*CREATE_PATHS.values(), FETCH_PATHS["img_mixer"].format(id=1)])
@pytest.mark.parametrize(("content_type", "raw", "why"), MALFORMED[:13])
def test_server_answers_malformed_bodies_with_the_vendor_reply(
    mock_client: ClientFactory, path: str, content_type: str, raw: bytes, why: str
) -> None:
    with mock_client() as client:
        reply = client.post(path, content=raw, headers={"content-type": content_type} if content_type else {})
    assert reply.status_code == 200
    expected = "Invalid Api Key" if "fetch" in path else "Invalid API Request"
    assert reply.json()["message"] == expected


def test_infinite_guidance_scale_is_an_invalid_request(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        reply = client.post(
            CREATE_PATHS["img_mixer"],
            content=b'{"key":"k","prompt":"p","init_image":["https://a.b/c"],"guidance_scale":1e400}',
            headers={"content-type": JSON},
        )
    assert reply.json()["message"] == "Invalid API Request"


@pytest.mark.parametrize(
    ("host", "valid"),
    [
        ("127.0.0.1:8000", True),
        ("mock.test", True),
        ("mixmock_mock_1:8000", True),
        ("[::1]:8000", True),
        ("a b", False),
        ("evil.test/x", False),
        ("host:99999", False),
        ("[::g]", False),
        ("-lead.test", False),
        ("x" * 300, False),
        ("", False),
    ],
)
def test_valid_host(host: str, valid: bool) -> None:
    assert valid_host(host) is valid
