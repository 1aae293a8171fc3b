"""The proxy in front of an independent fake vendor with its files on a CDN host: the SDK's session
recorded, the CDN reached only because it is listed, and the learn report naming what is new."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from mock_server.proxy.app import create_proxy_app
from mock_server.proxy.learn import learn_report
from mock_server.settings import ProxySettings
from mock_server.tooling.testing import running_server
from tests.integration.proxy.fake_vendor import PNG, cdn_app, vendor_app

pytestmark = [pytest.mark.integration, pytest.mark.sdk, pytest.mark.timeout(120)]

modelslab_py = pytest.importorskip("modelslab_py")
from modelslab_py.core.apis.image_editing import Image_editing  # noqa: E402
from modelslab_py.core.client import Client  # noqa: E402

KEY = "sk-fake-vendor-key-42"


def _session(proxy: str) -> tuple[dict[str, Any], list[dict[str, Any]], bytes]:
    client = Client(api_key=KEY, fetch_retry=1, fetch_timeout=0)
    client.base_url = proxy + "/api/"
    editing = Image_editing(client=client)
    queued: dict[str, Any] = client.post(
        editing.base_url + "img_mixer", data={"prompt": "rose man", "init_image": ["https://a/b.png"]}
    )
    polls = [editing.fetch(str(queued["id"])) for _ in range(2)]
    return queued, polls, requests.get(polls[-1]["output"][0], timeout=30).content


@pytest.mark.parametrize("listed", [True, False], ids=["cdn-listed", "cdn-not-listed"])
def test_files_on_a_cdn_are_recorded_only_when_listed(tmp_path: Path, listed: bool) -> None:
    with running_server(cdn_app(), host="127.0.0.1") as cdn_origin:
        cdn = cdn_origin.replace("127.0.0.1", "localhost")  # another host than the target's
        with running_server(vendor_app(cdn)) as vendor:
            hosts = ("localhost",) if listed else ()
            settings = ProxySettings(
                target=vendor, record=str(tmp_path), download_hosts=hosts, access_log=False
            )
            with running_server(create_proxy_app(settings)) as proxy:
                _queued, polls, image = _session(proxy)
    assert [poll["status"] for poll in polls] == ["processing", "success"]
    assert image == PNG
    [link] = polls[-1]["output"]
    assert link.startswith(f"{proxy}/_recorded/http/localhost:") if listed else link.startswith(cdn)
    [path] = tmp_path.glob("*.har")
    kinds = [entry["_mixmock"]["kind"] for entry in json.loads(path.read_text())["log"]["entries"]]
    assert kinds == ["create", "fetch", "fetch", *(["download"] if listed else [])]


def test_the_learn_report_names_what_the_profile_does_not_know(tmp_path: Path) -> None:
    with running_server(cdn_app()) as cdn, running_server(vendor_app(cdn)) as vendor:
        settings = ProxySettings(target=vendor, record=str(tmp_path), access_log=False)
        with running_server(create_proxy_app(settings)) as proxy:
            _session(proxy)
    report = learn_report(tmp_path)
    verdicts = {quirk.name: quirk.verdict for quirk in report.quirks}
    assert verdicts["messege_typo"] == "seen"  # the fetch's processing reply, where the profile applies it
    assert verdicts["eta_float"] == verdicts["escaped_slashes"] == "seen"
    assert verdicts["processing_output_string"] == "not seen"
    assert verdicts["proxy_links_empty_string"] == "no evidence"  # the profile gives img_mixer no proxy_links
    messege = next(quirk for quirk in report.quirks if quirk.name == "messege_typo")
    assert messege.seen_elsewhere == 1  # also in the queued create reply, where the profile does not put it
    new = {(d.operation, d.status, d.field, d.keyword) for d in report.differences}
    assert new == {
        ("img_mixer", "processing", "tip_1", "undeclared"),
        ("fetch_v6", "success", "webhook_status", "undeclared"),
    }
    text = report.as_text()
    assert "`tip_1` (undeclared)" in text
    assert "--quirk messege_typo --quirk eta_float --quirk escaped_slashes" in text
