"""Every reply the specs describe matches exactly one `oneOf` branch, told apart by `status`."""

from __future__ import annotations

from typing import Any

import pytest

from openapi import load_spec
from tests.unit.openapi.schemas import CREATE_OPERATIONS, FETCH_OPERATIONS, SPEC_NAMES, validator

pytestmark = pytest.mark.unit


def operations(spec_name: str) -> dict[str, dict[str, Any]]:
    paths = load_spec(spec_name)["paths"]
    create_path, create_id, _ = CREATE_OPERATIONS[spec_name]
    fetch_path, fetch_id = FETCH_OPERATIONS[spec_name]
    return {create_id: paths[create_path]["post"], fetch_id: paths[fetch_path]["post"]}


def json_content(spec_name: str, operation_id: str) -> dict[str, Any]:
    content: dict[str, Any] = operations(spec_name)[operation_id]["responses"]["200"]["content"][
        "application/json"
    ]
    return content


def webhook_content(spec_name: str) -> dict[str, Any]:
    (webhook,) = load_spec(spec_name)["webhooks"].values()
    content: dict[str, Any] = webhook["post"]["requestBody"]["content"]["application/json"]
    return content


def matching_branches(spec_name: str, one_of: list[dict[str, str]], body: Any) -> list[str]:
    return [branch["$ref"] for branch in one_of if validator(spec_name, branch).is_valid(body)]


def all_examples() -> list[tuple[str, str, str, Any]]:
    cases = []
    for spec_name in SPEC_NAMES:
        for operation_id in operations(spec_name):
            for name, example in json_content(spec_name, operation_id)["examples"].items():
                cases.append((spec_name, operation_id, name, example["value"]))
        for name, example in webhook_content(spec_name)["examples"].items():
            cases.append((spec_name, "webhook", name, example["value"]))
    return cases


EXAMPLES = all_examples()


@pytest.mark.parametrize(
    ("spec_name", "operation", "name", "body"), EXAMPLES, ids=[f"{s}-{o}-{n}" for s, o, n, _ in EXAMPLES]
)
def test_named_example_matches_exactly_one_branch(
    spec_name: str, operation: str, name: str, body: Any
) -> None:
    content = webhook_content(spec_name) if operation == "webhook" else json_content(spec_name, operation)
    one_of = content["schema"]["oneOf"]
    matched = matching_branches(spec_name, one_of, body)
    assert len(matched) == 1, matched
    schema_name = matched[0].rsplit("/", 1)[1]
    (status,) = load_spec(spec_name)["components"]["schemas"][schema_name]["properties"]["status"]["enum"]
    assert status == body["status"]


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_every_branch_requires_status_from_a_disjoint_enum(spec_name: str) -> None:
    schemas = load_spec(spec_name)["components"]["schemas"]
    for operation_id in operations(spec_name):
        seen: set[str] = set()
        for branch in json_content(spec_name, operation_id)["schema"]["oneOf"]:
            schema = schemas[branch["$ref"].rsplit("/", 1)[1]]
            assert "status" in schema["required"]
            (status,) = schema["properties"]["status"]["enum"]
            assert status not in seen
            seen.add(status)
        assert seen == {"success", "processing", "error", "failed"}


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_every_branch_has_a_named_example(spec_name: str) -> None:
    for operation_id in operations(spec_name):
        content = json_content(spec_name, operation_id)
        statuses = {example["value"]["status"] for example in content["examples"].values()}
        assert statuses == {"success", "processing", "error", "failed"}


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
@pytest.mark.parametrize(
    "body",
    [
        {"id": 1, "output": []},
        {"status": "queued", "id": 1},
        {"status": "success", "id": "349", "output": []},
        {"status": "processing", "id": 1, "eta": 5, "output": []},
        {"status": "error"},
    ],
    ids=["no-status", "unknown-status", "string-id", "processing-no-fetch_result", "error-no-message"],
)
def test_bodies_off_the_contract_match_no_branch(spec_name: str, body: dict[str, Any]) -> None:
    for operation_id in operations(spec_name):
        one_of = json_content(spec_name, operation_id)["schema"]["oneOf"]
        assert matching_branches(spec_name, one_of, body) == []


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_fetch_processing_output_is_a_string_and_create_processing_output_an_array(spec_name: str) -> None:
    create_id, fetch_id = operations(spec_name)
    create = json_content(spec_name, create_id)["examples"]["processing"]["value"]
    fetch = json_content(spec_name, fetch_id)["examples"]["processing"]["value"]
    assert create["output"] == []
    assert fetch["output"] == ""
    assert {"eta", "fetch_result", "future_links", "id"} <= set(create)


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_unknown_id_reply_is_failed_request_not_found(spec_name: str) -> None:
    _, fetch_id = operations(spec_name)
    example = json_content(spec_name, fetch_id)["examples"]["failed_not_found"]["value"]
    assert example == {**example, "status": "failed", "id": "", "message": "Request not found", "output": ""}


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_success_example_echoes_meta_the_vendor_way(spec_name: str) -> None:
    create_id, _ = operations(spec_name)
    meta = json_content(spec_name, create_id)["examples"]["success"]["value"]["meta"]
    assert {"H", "W", "n_samples", "file_prefix", "seed", "steps", "prompt"} <= set(meta)
    assert isinstance(json_content(spec_name, create_id)["examples"]["success"]["value"]["id"], int)


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_create_reply_links_its_id_to_the_fetch_operation(spec_name: str) -> None:
    create_id, fetch_id = operations(spec_name)
    link = operations(spec_name)[create_id]["responses"]["200"]["links"]["FetchResult"]
    assert link == {**link, "operationId": fetch_id, "parameters": {"id": "$response.body#/id"}}


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_webhook_payload_carries_track_id_of_either_type(spec_name: str) -> None:
    content = webhook_content(spec_name)
    one_of = content["schema"]["oneOf"]
    base = content["examples"]["success"]["value"]
    for track_id in ("order-42", 42, None):
        assert len(matching_branches(spec_name, one_of, {**base, "track_id": track_id})) == 1
    without = {key: value for key, value in base.items() if key != "track_id"}
    assert matching_branches(spec_name, one_of, without) == []
