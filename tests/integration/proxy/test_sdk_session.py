"""A whole session through `mixmock proxy`, driven by the vendor's SDK, recorded, then replayed offline.

The vendor is `mixmock serve --profile observed` (its live quirks), with its own key list; the proxy
relays webhooks and records; the replay is `mixmock serve --replay DIR` with nothing else running but
the client's webhook receiver.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import requests

from tests.har_schema import har_errors
from tests.integration.proxy.conftest import proxying, scrub_origins
from tests.integration.servers import Receiver, receiver, serve

pytestmark = [pytest.mark.integration, pytest.mark.sdk, pytest.mark.timeout(180)]

modelslab_py = pytest.importorskip("modelslab_py")
from modelslab_py.core.apis.image_editing import Image_editing  # noqa: E402
from modelslab_py.core.client import Client  # noqa: E402

KEY = "sk-live-5e0c1d7a9b3f4e21a8c6"
INIT = ["https://img.example/a.png", "https://img.example/b.png"]


@dataclass
class Seen:
    """What the client saw: the create reply, each fetch reply, the image bytes, the webhook payload."""

    base_url: str
    queued: dict[str, Any]
    polls: list[dict[str, Any]]
    image: bytes
    webhook: dict[str, Any]


def _drive(base_url: str, hook_url: str, hooks: Receiver, delivered: int) -> Seen:
    client = Client(api_key=KEY, fetch_retry=1, fetch_timeout=0)
    client.base_url = base_url + "/api/"
    editing = Image_editing(client=client)
    data = {"prompt": "rose man", "init_image": INIT, "steps": 41, "webhook": hook_url, "track_id": 7}
    queued: dict[str, Any] = client.post(editing.base_url + "img_mixer", data=data)
    polls: list[dict[str, Any]] = []
    while not polls or polls[-1]["status"] == "processing":
        assert len(polls) < 6, polls
        polls.append(editing.fetch(str(queued["id"])))
    image = requests.get(polls[-1]["output"][0], timeout=30)
    assert image.status_code == 200
    webhook = hooks.received(delivered)[delivered - 1]
    return Seen(base_url, queued, polls, image.content, webhook)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("session")
    rules = folder / "rules.yaml"
    rules.write_text("rules:\n  - operation: img_mixer\n    then: {scenario: processing, polls: 2}\n")
    recording = folder / "recording"
    found: dict[str, Any] = {"folder": folder, "recording": recording}
    with receiver() as (hook_url, hooks):
        vendor_args = (
            "--profile",
            "observed",
            "--rules",
            str(rules),
            "--api-key",
            KEY,
            "--store",
            ":memory:",
        )
        with serve(*vendor_args) as (vendor, _):
            args = ("--record", str(recording), "--webhooks", "relay", "--learn")
            with proxying(vendor, *args, log=folder / "proxy.log") as proxy:
                found["proxied"] = _drive(proxy, hook_url, hooks, 1)
                body = {"key": KEY, "prompt": "rose man", "init_image": INIT, "steps": 51}
                found["invalid"] = httpx.post(f"{proxy}/api/v6/image_editing/img_mixer", json=body)
                found["vendor_calls"] = len(httpx.get(f"{vendor}/_mixmock/requests").json()["requests"])
        with serve("--replay", str(recording), "--replay-speed", "inf", "--store", ":memory:") as (mock, _):
            found["replayed"] = _drive(mock, hook_url, hooks, 2)
    return found


def test_the_client_sees_the_whole_lifecycle_through_the_proxy(recorded: dict[str, Any]) -> None:
    seen: Seen = recorded["proxied"]
    assert seen.queued["status"] == "processing"
    assert seen.queued["fetch_result"].startswith(seen.base_url + "/api/v6/image_editing/fetch/")
    assert [poll["status"] for poll in seen.polls] == ["processing", "processing", "success"]
    assert seen.polls[-1]["output"] == seen.queued["future_links"]
    assert seen.image[:4] == b"\x89PNG"
    assert (seen.webhook["status"], seen.webhook["track_id"], seen.webhook["output"]) == (
        "success",
        7,
        seen.queued["future_links"],
    )


def test_violations_are_reported_both_ways(recorded: dict[str, Any]) -> None:
    invalid: httpx.Response = recorded["invalid"]
    assert "steps: maximum" in invalid.headers["x-mixmock-request-violations"]
    assert invalid.headers["x-mixmock-violations"].startswith("message: type:")  # a Laravel message object
    log = (recorded["folder"] / "proxy.log").read_text()
    assert "img_mixer request breaks the spec: steps: maximum" in log
    assert "img_mixer reply breaks the spec: eta: type" in log  # the queued reply's float eta
    assert "fetch_v6 reply breaks the spec: messege: undeclared" in log


def test_the_recording_is_har_with_the_whole_lifecycle(recorded: dict[str, Any]) -> None:
    [path] = recorded["recording"].glob("*.har")
    document = json.loads(path.read_text())
    assert har_errors(document) == []
    entries = document["log"]["entries"]
    job = str(recorded["proxied"].queued["id"])
    lifecycle = sorted(
        entry["_mixmock"]["kind"] for entry in entries if entry["_mixmock"].get("job_id") == job
    )
    assert lifecycle == ["create", "fetch", "fetch", "fetch", "webhook"]
    [download] = [entry for entry in entries if entry["_mixmock"]["kind"] == "download"]
    assert download["response"]["content"]["mimeType"] == "image/png"
    [invalid] = [entry for entry in entries if entry["_mixmock"].get("request_violations")]
    assert invalid["_mixmock"]["request_violations"][0].startswith("steps: maximum")
    webhook = next(entry for entry in document["log"]["entries"] if entry["_mixmock"]["kind"] == "webhook")
    assert webhook["_mixmock"]["answered_by"] == "client"
    assert webhook["_mixmock"]["request_violations"] == []
    assert recorded["vendor_calls"] == 5  # 1 create, 3 fetches, 1 invalid create: nothing else was sent


def test_the_key_is_in_no_file_written(recorded: dict[str, Any]) -> None:
    written = [path for path in recorded["folder"].rglob("*") if path.is_file()]
    assert {path.name for path in written} >= {"learn.md", "learn.json", "proxy.log"}
    spellings = {KEY, quote(KEY, safe=""), json.dumps(KEY)[1:-1]}
    for path in written:
        content = path.read_bytes()
        assert not [spelling for spelling in spellings if spelling.encode() in content], path


def test_the_learn_report_lists_the_quirks_the_vendor_showed(recorded: dict[str, Any]) -> None:
    report = json.loads((recorded["recording"] / "learn.json").read_text())
    verdicts = {quirk["name"]: quirk["verdict"] for quirk in report["quirks"]}
    shown = {
        "messege_typo",
        "processing_output_string",
        "eta_float",
        "escaped_slashes",
        "laravel_validation_object",  # the steps=51 request's error reply
    }
    assert {name for name, verdict in verdicts.items() if verdict == "seen"} == shown
    assert report["differences"] == []


def test_the_replay_gives_the_same_client_visible_sequence_offline(recorded: dict[str, Any]) -> None:
    proxied: Seen = recorded["proxied"]
    replayed: Seen = recorded["replayed"]

    def visible(seen: Seen) -> Any:
        sequence = [seen.queued, *seen.polls, seen.webhook]
        return scrub_origins(sequence, {seen.base_url: "ORIGIN"})

    assert visible(replayed) == visible(proxied)
    assert replayed.image == proxied.image
