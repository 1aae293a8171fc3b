"""`--image-url`: every image URL of every body sent is replaced; probes go out as they are."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from conformance import AuditConfig, ConfigError, run_audit
from conformance.boundaries import ranges_cases
from conformance.cases import MISSING
from conformance.inputs import image_url_problem, with_image_url
from openapi.operations import Operation, load_operations

pytestmark = pytest.mark.unit

OPS = {operation.operation_id: operation for operation in load_operations()}
URL = "data:image/png;base64,iVBORw0KGgo="


def _case(operation: str, parameter: str, constraint: str) -> Any:
    cases = ranges_cases(OPS[operation])
    return [case for case in cases if case.parameter == parameter and case.constraint == constraint]


@pytest.mark.parametrize(
    ("operation", "field"),
    [("magic_mix_enterprise", "image"), ("magic_mix_v5", "image"), ("img_mixer", "init_image")],
    ids=["magic_mix_enterprise", "magic_mix_v5", "img_mixer"],
)
def test_every_ranges_body_sends_the_given_image_or_a_probe(operation: str, field: str) -> None:
    probes = {"not a uri", 12345, "not-an-array", None}
    for case in ranges_cases(OPS[operation]):
        if not isinstance(case.body, dict):
            continue
        value = with_image_url(case, URL).body.get(field, MISSING)
        items = value if isinstance(value, list) else [value]
        assert all(item == URL or item in probes or item is MISSING for item in items), case


def test_the_item_count_of_init_image_is_kept() -> None:
    cases = _case("img_mixer", "init_image", "maxItems 4")
    replaced = [with_image_url(case, URL) for case in cases]
    assert [case.value for case in replaced] == [[URL] * 4, [URL] * 5]
    assert [case.body["init_image"] for case in replaced] == [[URL] * 4, [URL] * 5]


@pytest.mark.parametrize(
    ("operation", "parameter", "constraint", "probe", "sent"),
    [
        ("magic_mix_enterprise", "image", "format uri", "not a uri", "not a uri"),
        ("magic_mix_enterprise", "image", "type string", 12345, 12345),
        ("img_mixer", "init_image", "format uri", None, [URL, "not a uri"]),
        ("img_mixer", "init_image", "type string", None, [URL, 12345]),
        ("img_mixer", "init_image", "type array", "not-an-array", "not-an-array"),
    ],
    ids=["image-format", "image-type", "init_image-format", "init_image-item-type", "init_image-type"],
)
def test_format_and_type_probes_are_sent_as_they_are(
    operation: str, parameter: str, constraint: str, probe: Any, sent: Any
) -> None:
    cases = _case(operation, parameter, constraint)
    case = next(case for case in cases if probe is None or case.value == probe)
    replaced = with_image_url(case, URL)
    assert replaced.body[parameter] == sent
    assert replaced.value == sent


def test_a_page_example_case_reports_the_body_sent() -> None:
    (case,) = _case("magic_mix_enterprise", "(body)", "page example")
    replaced = with_image_url(case, URL)
    assert replaced.value == replaced.body
    assert replaced.body["image"] == URL
    assert case.body["image"].startswith("https://")  # the original case is left alone


def test_without_an_image_url_nothing_changes() -> None:
    (case,) = _case("img_mixer", "(body)", "page example")
    assert with_image_url(case, None) is case


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://127.0.0.1:8080/in.png", None),
        (URL, None),
        ("file:///tmp/in.png", "is neither an http(s) URL nor a data: URI"),
        ("in.png", "is neither an http(s) URL nor a data: URI"),
        ("http://a b/in.png", "is not a valid URI (RFC 3987)"),
    ],
    ids=["https", "data-uri", "file-scheme", "relative", "space"],
)
def test_image_url_problems(url: str, problem: str | None) -> None:
    assert image_url_problem(url) == problem


def test_the_config_names_a_bad_image_url() -> None:
    with pytest.raises(ConfigError, match=re.escape("--image-url 'in.png' is neither")):
        AuditConfig(base_url="http://127.0.0.1:1", key="k", image_url="in.png")


def _sent_images(operation: Operation, image_url: str | None) -> tuple[list[Any], str]:
    """The image fields of every body a ranges run sends to a target that rejects everything."""
    sent: list[Any] = []

    def target(request: httpx.Request) -> httpx.Response:
        try:
            body = json.loads(request.content)
        except ValueError:
            body = None
        sent.append(body.get("image", MISSING) if isinstance(body, dict) else MISSING)
        return httpx.Response(200, json={"status": "error", "message": "rejected"})

    config = AuditConfig(
        base_url="http://127.0.0.1:1",
        key="k",
        tiers=("ranges",),
        operations=(operation.operation_id,),
        image_url=image_url,
    )
    result = run_audit(config, transport=httpx.MockTransport(target))
    return sent, result.corpus_hash


def test_the_audit_sends_the_image_url_and_the_corpus_hash_follows_it() -> None:
    operation = OPS["magic_mix_enterprise"]
    sent, first = _sent_images(operation, URL)
    assert URL in sent
    assert not [image for image in sent if isinstance(image, str) and image.startswith("https://")]
    assert _sent_images(operation, URL)[1] == first
    assert _sent_images(operation, "http://127.0.0.1:9/in.png")[1] != first
    assert _sent_images(operation, None)[1] != first
