"""Hostile bodies against a live mock: the vendor's error reply every time, never a 500 or a dead worker."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from mock_server.settings import Settings
from mock_server.tooling.testing import running_server
from tests.integration.servers import output_of, serve
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


def test_four_bodies_of_99000_wrong_items_at_once_get_small_replies(base_url: str) -> None:
    """297 KB each; the replies were 6.8 MB each and /health waited seconds behind them."""
    raw = json.dumps({"key": "k", "prompt": "rose man", "init_image": [0] * 99_000}).encode()

    async def four() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            sent = [client.post(base_url + IMG_MIXER, content=raw, headers=JSON) for _ in range(4)]
            return await asyncio.gather(*sent, client.get(base_url + "/health"))

    *replies, health = asyncio.run(four())
    assert health.status_code == 200
    for reply in replies:
        assert reply.json()["status"] == "error"
        assert len(reply.content) < 8_000


def test_a_host_header_that_is_no_host_gives_valid_urls_even_in_strict_mode() -> None:
    with running_server(Settings(store=":memory:", access_log=False, strict=True)) as url:
        reply = httpx.post(url + IMG_MIXER, json=valid_body("img_mixer"), headers={"Host": "a b"})
    assert reply.status_code == 200
    assert reply.json()["output"][0].startswith(url + "/generations/")


def test_a_client_that_aborts_its_upload_is_no_internal_error() -> None:
    with serve("--store", ":memory:", access_log=True) as (url, process):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as connection:
            connection.sendall(
                b"POST " + IMG_MIXER.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100000\r\n\r\n{"key": "k", "prompt": "ro'
            )
        deadline = time.monotonic() + 20
        while not (entries := httpx.get(url + "/_mixmock/requests").json()["requests"]):
            assert time.monotonic() < deadline, "the aborted request was never journaled"
            time.sleep(0.1)
        output = output_of(process)
    (entry,) = entries
    assert entry["http_status"] == 499
    assert entry["why"] == "client disconnected before its request body arrived"
    assert " 500 " not in output
    assert "internal error" not in output
    assert "Traceback" not in output
