"""Each spec is valid OpenAPI 3.1 and loads cleanly in the tools that consume it."""

from __future__ import annotations

import warnings

import pytest
import schemathesis
from openapi_core import OpenAPI
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from openapi import SPECS, get_spec, load_spec
from tests.unit.openapi.schemas import CREATE_OPERATIONS, FETCH_OPERATIONS, SPEC_NAMES

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_spec_is_valid_openapi_3_1(spec_name: str) -> None:
    document, _ = read_from_filename(str(get_spec(spec_name).path))
    assert document["openapi"] == "3.1.0"
    validate(document)


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_spec_loads_in_openapi_core_and_schemathesis_without_warnings(spec_name: str) -> None:
    path = str(get_spec(spec_name).path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        OpenAPI.from_file_path(path)
        schema = schemathesis.openapi.from_path(path)
        labels = sorted(result.ok().label for result in schema.get_all_operations())  # type: ignore[union-attr]
    assert labels == sorted(
        f"POST {path}" for path in (CREATE_OPERATIONS[spec_name][0], FETCH_OPERATIONS[spec_name][0])
    )


@pytest.mark.parametrize(
    ("spec_name", "server_url", "server_path"),
    [
        ("v6", "https://modelslab.com/api/v6", "/api/v6"),
        ("v1-enterprise", "https://modelslab.com/api/v1/enterprise", "/api/v1/enterprise"),
        ("v5", "https://stablediffusionapi.com/api/v5", "/api/v5"),
    ],
)
def test_one_server_per_vendor_base_url(spec_name: str, server_url: str, server_path: str) -> None:
    assert [server["url"] for server in load_spec(spec_name)["servers"]] == [server_url]
    assert get_spec(spec_name).server_path == server_path


def test_operation_ids_are_unique_across_specs() -> None:
    ids = [
        operation["operationId"]
        for spec_name in SPECS
        for item in load_spec(spec_name)["paths"].values()
        for operation in item.values()
    ]
    assert sorted(ids) == sorted(set(ids))


def test_unknown_spec_name_is_named_in_the_error() -> None:
    with pytest.raises(KeyError, match="unknown spec 'v7'; known specs: v6, v1-enterprise, v5"):
        get_spec("v7")
