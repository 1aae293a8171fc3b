"""The vendor pages' own example bodies validate against the specs, through openapi-core.

The bodies are read from the page snapshots when they sit beside the checkout (as in CI); the same
bodies are kept in the specs as the `page_example` request examples, and both are checked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest

from openapi import get_spec, load_spec
from tests.unit.openapi.schemas import CREATE_OPERATIONS, SPEC_NAMES, errors

pytestmark = pytest.mark.unit

VENDOR_DOCS = Path(__file__).resolve().parents[3].parent / "shared" / "vendor-docs"

PAGES = {  # page file -> the spec its request example belongs to
    "000_562f657279bbc207.txt": "v1-enterprise",
    "001_0d73c516991ece72.txt": "v5",
    "002_1906b1caecadc258.txt": "v1-enterprise",
    "003_df5c16ca7d0665de.txt": "v6",
    "004_58065b5d2dd2da77.txt": "v6",
}
# 004's "API reference" block is generated from the schema with placeholders ("<string>", 123,
# "samples": 0); it is not an example the vendor wrote. openapi/README.md records it.
GENERATED_PLACEHOLDER = "<string>"


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every distinct JSON object on a page that looks like a request or a reply."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    index = text.find("{")
    while index >= 0:
        try:
            value, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            end = index + 1
        else:
            if isinstance(value, dict) and ({"prompt", "status"} & set(value)) and value not in found:
                found.append(value)
        index = text.find("{", end)
    return found


def page_objects(page: str) -> list[dict[str, Any]]:
    path = VENDOR_DOCS / page
    if not path.is_file():
        pytest.skip(f"vendor page snapshots not found beside the checkout ({page})")
    return json_objects(path.read_text(encoding="utf-8"))


def is_placeholder(body: dict[str, Any]) -> bool:
    return GENERATED_PLACEHOLDER in json.dumps(body)


def openapi_core_validate(spec_name: str, body: dict[str, Any]) -> None:
    spec = get_spec(spec_name)
    path = CREATE_OPERATIONS[spec_name][0]
    request = MockRequest(
        spec.server_url.removesuffix(spec.server_path),
        "post",
        spec.server_path + path,
        data=json.dumps(body).encode(),
        content_type="application/json",
    )
    OpenAPI.from_file_path(str(spec.path)).validate_request(request)


@pytest.mark.parametrize("page", list(PAGES))
def test_page_request_examples_validate(page: str) -> None:
    spec_name = PAGES[page]
    requests = [body for body in page_objects(page) if "prompt" in body and not is_placeholder(body)]
    assert requests, f"no request example found on {page}"
    for body in requests:
        openapi_core_validate(spec_name, body)


@pytest.mark.parametrize("page", list(PAGES))
def test_spec_keeps_the_page_example(page: str) -> None:
    spec_name = PAGES[page]
    path = CREATE_OPERATIONS[spec_name][0]
    content = load_spec(spec_name)["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    kept = content["examples"]["page_example"]["value"]
    requests = [body for body in page_objects(page) if "prompt" in body and not is_placeholder(body)]
    assert kept in requests


@pytest.mark.parametrize(
    ("page", "spec_name"),
    [("001_0d73c516991ece72.txt", "v5"), ("002_1906b1caecadc258.txt", "v1-enterprise")],
)
def test_page_reply_examples_validate_as_success(page: str, spec_name: str) -> None:
    replies = [body for body in page_objects(page) if "status" in body]
    assert replies
    for reply in replies:
        assert errors(spec_name, "SuccessResponse", reply) == []


def test_generated_reference_body_is_not_taken_as_an_example() -> None:
    generated = [body for body in page_objects("004_58065b5d2dd2da77.txt") if is_placeholder(body)]
    request = next(body for body in generated if "prompt" in body)
    assert request["samples"] == 0
    assert errors("v6", "ImageMixerRequest", request) == [
        "'<string>' is not a 'uri'",
        "'<string>' is not a 'uri'",
        "0 is less than the minimum of 1",
    ]


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_spec_page_example_validates_through_openapi_core(spec_name: str) -> None:
    path = CREATE_OPERATIONS[spec_name][0]
    content = load_spec(spec_name)["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    openapi_core_validate(spec_name, content["examples"]["page_example"]["value"])
