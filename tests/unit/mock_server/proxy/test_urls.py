"""Which reply URLs go through mixmock, and a rewrite that keeps every other byte of the reply."""

from __future__ import annotations

import json

import pytest

from mock_server.parsing import HostAllowList
from mock_server.proxy.urls import UrlPlan, recorded_upstream, rewrite_urls

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

PLAN = UrlPlan("https://modelslab.com", HostAllowList.parse(["*.r2.dev"]))
PROXY = "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("url", "field", "expected"),
    [
        (
            "https://modelslab.com/api/v6/image_editing/fetch/349",
            "fetch_result",
            f"{PROXY}/api/v6/image_editing/fetch/349",
        ),
        (
            "https://MODELSLAB.com/api/v6/image_editing/fetch/349?x=1",
            "fetch_result",
            f"{PROXY}/api/v6/image_editing/fetch/349?x=1",
        ),
        (
            "https://stablediffusionapi.com/api/v3/fetch/1",
            "fetch_result",
            "https://stablediffusionapi.com/api/v3/fetch/1",
        ),
        (
            "http://modelslab.com/api/v6/image_editing/fetch/1",
            "fetch_result",
            "http://modelslab.com/api/v6/image_editing/fetch/1",
        ),
        (
            "https://pub-1.r2.dev/generations/a-0.png",
            "output",
            f"{PROXY}/_recorded/https/pub-1.r2.dev/generations/a-0.png",
        ),
        (
            "https://modelslab.com/generations/a.png",
            "future_links",
            f"{PROXY}/_recorded/https/modelslab.com/generations/a.png",
        ),
        (
            "https://cdn2.stablediffusionapi.com/generations/a.png",
            "output",
            "https://cdn2.stablediffusionapi.com/generations/a.png",
        ),
        ("not a url", "output", "not a url"),
        ("ftp://pub-1.r2.dev/a.png", "output", "ftp://pub-1.r2.dev/a.png"),
    ],
    ids=[
        "fetch-on-target",
        "fetch-host-case-and-query",
        "fetch-elsewhere-untouched",
        "fetch-other-scheme-untouched",
        "file-on-download-host",
        "file-on-target",
        "file-elsewhere-untouched",
        "not-a-url",
        "not-http",
    ],
)
def test_client_url(url: str, field: str, expected: str) -> None:
    assert PLAN.client_url(url, field, PROXY) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://pub-1.r2.dev/generations/a-0.png",
        "http://127.0.0.1:9000/generations/b.png?v=2",
        "https://h/x/y/z.png",
    ],
)
def test_a_recorded_path_names_its_upstream_url(url: str) -> None:
    plan = UrlPlan("https://h", HostAllowList.parse(["*"]))
    path, _, query = plan.client_url(url, "output", PROXY).removeprefix(PROXY).partition("?")
    assert recorded_upstream(path, query) == url


@pytest.mark.parametrize(
    "path", ["/_recorded/ftp/h/a.png", "/_recorded/https/h", "/_recorded/", "/generations/a.png"]
)
def test_other_paths_name_no_upstream(path: str) -> None:
    assert recorded_upstream(path) is None


def test_the_rewrite_keeps_the_senders_bytes() -> None:
    text = (
        '{"status":"processing","eta":13.067986918399999,"fetch_result":"https:\\/\\/modelslab.com\\/api\\/v6'
        '\\/image_editing\\/fetch\\/349","id":349,"output":"","future_links":["https:\\/\\/pub-1.r2.dev\\/g\\/a.png"],'
        '"meta":{"init_image":"https:\\/\\/pub-1.r2.dev\\/g\\/a.png-not-this"}}'
    )
    rewritten = rewrite_urls(text, json.loads(text), lambda url, field: PLAN.client_url(url, field, PROXY))
    assert rewritten == (
        '{"status":"processing","eta":13.067986918399999,"fetch_result":"http:\\/\\/127.0.0.1:8000\\/api\\/v6'
        '\\/image_editing\\/fetch\\/349","id":349,"output":"","future_links":["http:\\/\\/127.0.0.1:8000\\/_recorded'
        '\\/https\\/pub-1.r2.dev\\/g\\/a.png"],"meta":{"init_image":"https:\\/\\/pub-1.r2.dev\\/g\\/a.png-not-this"}}'
    )


def test_the_rewrite_of_plain_json() -> None:
    body = {
        "status": "success",
        "id": 1,
        "output": ["https://pub-1.r2.dev/a.png"],
        "proxy_links": ["https://pub-1.r2.dev/a.png"],
    }
    text = json.dumps(body, indent=2)
    rewritten = json.loads(rewrite_urls(text, body, lambda url, field: PLAN.client_url(url, field, PROXY)))
    assert rewritten["output"] == rewritten["proxy_links"] == [f"{PROXY}/_recorded/https/pub-1.r2.dev/a.png"]
