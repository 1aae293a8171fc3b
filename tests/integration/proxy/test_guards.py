"""What the proxy refuses to spend or wait for, seen from the vendor's SDK and from the vendor's side."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from mock_server.proxy.app import create_proxy_app
from mock_server.settings import ProxySettings, Settings
from mock_server.tooling.testing import free_port, running_server
from openapi.operations import load_operations

pytestmark = [pytest.mark.integration, pytest.mark.sdk, pytest.mark.timeout(120)]

modelslab_py = pytest.importorskip("modelslab_py")
from modelslab_py.core.apis.image_editing import Image_editing  # noqa: E402
from modelslab_py.core.client import Client  # noqa: E402

KEY = "sk-guards-0f9e8d7c6b5a"
UNAVAILABLE = next(op for op in load_operations(["v6"]) if op.operation_id == "img_mixer").status_examples[
    503
]


def _sdk(proxy: str) -> tuple[Client, Image_editing]:
    client = Client(api_key=KEY, fetch_retry=1, fetch_timeout=0)
    client.base_url = proxy + "/api/"
    return client, Image_editing(client=client)


def test_block_invalid_spends_no_call_on_a_request_the_vendor_would_refuse() -> None:
    with running_server(Settings(store=":memory:", access_log=False)) as vendor:
        settings = ProxySettings(target=vendor, block_invalid=True, access_log=False)
        with running_server(create_proxy_app(settings)) as proxy:
            client, editing = _sdk(proxy)
            refused: dict[str, Any] = client.post(
                editing.base_url + "img_mixer", data={"init_image": ["https://a/b.png"]}
            )
            spent = httpx.get(f"{vendor}/_mixmock/requests").json()["requests"]
            accepted: dict[str, Any] = client.post(
                editing.base_url + "img_mixer", data={"prompt": "p", "init_image": ["https://a/b.png"]}
            )
            after = httpx.get(f"{vendor}/_mixmock/requests").json()["requests"]
    assert refused == {"status": "error", "message": "The prompt field is required."}
    assert (spent, accepted["status"], len(after)) == ([], "success", 1)


def test_an_unreachable_target_gives_the_sdk_the_vendors_503() -> None:
    settings = ProxySettings(target=f"http://127.0.0.1:{free_port()}", connect_timeout_s=2, access_log=False)
    with running_server(create_proxy_app(settings)) as proxy:
        client, editing = _sdk(proxy)
        with pytest.raises(Exception, match="status code 503") as raised:
            client.post(
                editing.base_url + "img_mixer", data={"prompt": "p", "init_image": ["https://a/b.png"]}
            )
    assert str(raised.value).endswith(json.dumps(UNAVAILABLE, separators=(",", ":")))


def test_a_target_slower_than_the_deadline_gives_the_vendors_503() -> None:
    with running_server(Settings(store=":memory:", access_log=False)) as vendor:
        settings = ProxySettings(target=vendor, read_timeout_s=0.5, access_log=False)
        with running_server(create_proxy_app(settings)) as proxy:
            reply = httpx.post(
                f"{proxy}/api/v6/image_editing/fetch/1",
                json={"key": KEY},
                headers={"Prefer": "latency=3s"},  # the mock (as vendor) waits 3 s before it answers
                timeout=30,
            )
    assert (reply.status_code, reply.json()) == (503, UNAVAILABLE)
    assert "sent nothing for 0.5 s" in reply.headers["x-mixmock-proxy-error"]
