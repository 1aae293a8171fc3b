"""The vendor's published SDK, modelslab-py 0.2.3 unmodified, against a running mock.

The SDK cannot send a Prefer header, so a rules file queues img_mixer jobs for two fetches.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_server.settings import Settings
from mock_server.tooling.testing import running_server

pytestmark = [pytest.mark.sdk, pytest.mark.timeout(60)]

modelslab_py = pytest.importorskip("modelslab_py")
from modelslab_py.core.apis.image_editing import Image_editing  # noqa: E402
from modelslab_py.core.client import Client  # noqa: E402
from modelslab_py.schemas.image_editing import MagicMixSchema  # noqa: E402


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    rules = Path(tmp_path_factory.mktemp("sdk")) / "rules.yaml"
    rules.write_text("rules:\n  - operation: img_mixer\n    then: {scenario: processing, polls: 2}\n")
    settings = Settings(
        store=":memory:", strict=True, rules_file=str(rules), api_keys=frozenset({"test-key"})
    )
    with running_server(settings) as base_url:
        sdk = Client(api_key="test-key", fetch_retry=5, fetch_timeout=0)
        sdk.base_url = base_url + "/api/"  # before building the API objects, which copy it
        yield sdk


def test_img_mixer_then_fetch_polls_until_success(client: Client) -> None:
    editing = Image_editing(client=client)
    queued: dict[str, Any] = client.post(
        editing.base_url + "img_mixer",
        data={"prompt": "rose man", "init_image": ["https://img.example/a.png", "https://img.example/b.png"]},
    )
    done: dict[str, Any] = editing.fetch(str(queued["id"]))
    assert queued["status"] == "processing"
    assert done["status"] == "success"
    assert done["output"] == queued["future_links"]


def test_enterprise_magic_mix_with_the_sdk_schema(client: Client) -> None:
    enterprise = Image_editing(client=client, enterprise=True)
    schema = MagicMixSchema(prompt="Bed", image="https://img.example/bed.jpg")
    reply: dict[str, Any] = client.post(
        enterprise.base_url + "magic_mix", data=schema.model_dump(exclude_none=True)
    )
    fetched: dict[str, Any] = enterprise.fetch(str(reply["id"]))
    assert reply["status"] == "success"
    assert (reply["meta"]["W"], reply["meta"]["kmin"]) == (512, 0.5)
    assert fetched["output"] == reply["output"]


def test_wrong_key_reaches_the_sdk_as_the_vendor_error(client: Client) -> None:
    other = Client(api_key="wrong-key", fetch_retry=1, fetch_timeout=0)
    other.base_url = client.base_url
    reply: dict[str, Any] = other.post(
        Image_editing(client=other).base_url + "img_mixer", data={"prompt": "x"}
    )
    assert reply["message"] == "Invalid Api Key"
