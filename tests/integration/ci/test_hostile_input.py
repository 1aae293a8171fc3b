"""Hostile bodies against a live mock: the vendor's error reply every time, never a 500 or a dead worker."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from mock_server.settings import Settings
from mock_server.tooling.testing import running_server
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

IMG_MIXER = CREATE_PATHS["img_mixer"]
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_server(Settings(store=":memory:", access_log=False)) as url:
        yield url


def body_with(raw_value: str) -> bytes:
    """A valid img_mixer body whose `steps` is replaced by raw JSON text."""
    text = json.dumps(valid_body("img_mixer", steps=41))
    return text.replace('"steps": 41', f'"steps": {raw_value}').encode()


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"key": "k", "prompt": "'
    for _ in range(total // size):
        yield b"a" * size
    yield b'"}'


HOSTILE = [
    pytest.param(b'{"key": "k", "prompt": "' + b"a" * (2 << 20) + b'"}', "larger than", id="over-size-limit"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "nests deeper", id="deeply-nested-100k"),
    pytest.param(b'{"key": "k", "a": ' + b'{"b": ' * 500 + b"1" + b"}" * 501, "nests", id="nested-objects"),
    pytest.param(body_with("NaN"), "NaN", id="nan"),
    pytest.param(body_with("Infinity"), "Infinity", id="infinity"),
    pytest.param(body_with("1e999"), "out of range", id="float-overflow"),
    pytest.param(body_with("9" * 5000), "out of range", id="5000-digit-integer"),
    pytest.param(b'{"key": "k", "prompt": "\xff\xfe"}', "UTF-8", id="invalid-utf8"),
    pytest.param(body_with('"\\ud800"'), "surrogate", id="lone-surrogate"),
]


@pytest.mark.parametrize(("raw", "reason"), HOSTILE)
def test_hostile_body_gets_the_vendors_invalid_request_reply(base_url: str, raw: bytes, reason: str) -> None:
    reply = httpx.post(base_url + IMG_MIXER, content=raw, headers=JSON, timeout=30)
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "error"
    assert body["message"] == "Invalid API Request"
    assert reason in reply.headers.get("x-mixmock-request-violations", "")


def test_an_over_limit_stream_without_content_length_is_cut_off(base_url: str) -> None:
    reply = httpx.post(base_url + IMG_MIXER, content=chunks(4 << 20), headers=JSON, timeout=30)
    assert reply.status_code == 200
    assert reply.json()["message"] == "Invalid API Request"


def test_a_very_long_prompt_is_served(base_url: str) -> None:
    body = valid_body("img_mixer", prompt="rose " * 150_000)
    reply = httpx.post(base_url + IMG_MIXER, json=body, timeout=30)
    assert reply.status_code == 200
    assert reply.json()["status"] == "success"
    assert len(reply.json()["meta"]["prompt"]) == 750_000


def test_thousands_of_init_images_get_one_validation_error(base_url: str) -> None:
    images = [f"https://img.example/{index}.png" for index in range(5000)] + ["not a url"] * 3000
    reply = httpx.post(base_url + IMG_MIXER, json=valid_body("img_mixer", init_image=images), timeout=30)
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "error"
    assert "must not have more than 4 items" in json.dumps(body["message"])
    assert len(reply.headers.get("x-mixmock-request-violations", "")) <= 4000


def test_the_server_still_answers_after_all_of_it(base_url: str) -> None:
    for raw, _ in (param.values for param in HOSTILE):
        httpx.post(base_url + IMG_MIXER, content=raw, headers=JSON, timeout=30)  # type: ignore[arg-type]
    reply = httpx.post(base_url + IMG_MIXER, json=valid_body("img_mixer"), timeout=30)
    assert reply.json()["status"] == "success"
