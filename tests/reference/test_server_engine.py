"""The mock server serving the reference engine (tiny models): both operations, PNGs that download."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from mock_server.app import create_app
from mock_server.engines.diffusers import DiffusersEngine
from mock_server.settings import Settings
from mock_server.tooling.testing import running_server
from tests.reference.conftest import data_uri, picture

pytestmark = [pytest.mark.reference, pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def base_url(tiny_models: Path) -> Iterator[str]:
    engine = DiffusersEngine.create(tiny_models, device="cpu", warmup=False)
    with running_server(create_app(Settings(store=":memory:"), engine=engine)) as url:
        yield url


def download(url: str) -> Image.Image:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


@pytest.mark.parametrize(
    ("path", "body", "size"),
    [
        (
            "/api/v1/enterprise/image_editing/magic_mix",
            {"prompt": "Bed", "image": data_uri(picture()), "width": 64, "height": 48, "steps": 8, "seed": 3},
            (64, 48),
        ),
        (
            "/api/v6/image_editing/img_mixer",
            {
                "prompt": "rose man",
                "init_image": [data_uri(picture()), data_uri(picture(seed=2))],
                "width": 40,
                "height": 32,
                "steps": 4,
                "seed": 3,
            },
            (40, 32),
        ),
    ],
    ids=["magic_mix", "img_mixer"],
)
def test_a_request_yields_a_downloadable_png_of_the_requested_size(
    base_url: str, path: str, body: dict[str, object], size: tuple[int, int]
) -> None:
    reply = httpx.post(base_url + path, json={"key": "test-key", **body}, timeout=60).json()
    assert reply["status"] == "success", reply
    image = download(reply["output"][0])
    assert image.size == size


def test_an_unfetchable_image_is_the_vendor_error(base_url: str) -> None:
    body = {"key": "test-key", "prompt": "Bed", "image": "http://127.0.0.1:9/a.png", "steps": 8}
    reply = httpx.post(base_url + "/api/v1/enterprise/image_editing/magic_mix", json=body, timeout=60).json()
    assert reply["status"] == "error"
    assert "Unable to fetch image from provided URL" in str(reply)
