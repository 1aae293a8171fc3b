"""Every constraint of the specs says where it comes from (`x-provenance`), and the ones the kit adds
(`inferred`) are exactly those openapi/README.md lists."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml

from openapi import SPEC_DIR, load_spec
from openapi.provenance import (
    CONSTRAINT_KEYWORDS,
    SOURCES,
    provenance,
    required_provenance,
    rule_provenance,
)
from tests.unit.openapi.schemas import CREATE_OPERATIONS, SPEC_NAMES

pytestmark = pytest.mark.unit

# The operation kinds the README's table names: each create operation by its product, and fetch.
KINDS = {"v6": "img_mixer", "v1-enterprise": "magic_mix", "v5": "magic_mix"}
Entry = tuple[str, str, str, Any]  # (operation kind, parameter, keyword, value)


def resolve(spec_name: str, node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    return resolve(spec_name, load_spec(spec_name)["components"]["schemas"][ref.rsplit("/", 1)[1]])


def operations(spec_name: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(kind, operation) for each operation of the spec's paths."""
    for path, item in load_spec(spec_name)["paths"].items():
        for operation in item.values():
            yield (KINDS[spec_name] if path == CREATE_OPERATIONS[spec_name][0] else "fetch"), operation


def request_bodies(spec_name: str) -> list[tuple[str, Mapping[str, Any]]]:
    return [
        (kind, resolve(spec_name, operation["requestBody"]["content"]["application/json"]["schema"]))
        for kind, operation in operations(spec_name)
    ]


def constrained(schema: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(parameter, schema) for each property of a request body, and for its items (`init_image.items`)."""
    for name, prop in schema.get("properties", {}).items():
        while True:
            yield name, prop
            if "items" not in prop:
                break
            name, prop = f"{name}.items", prop["items"]


def reply_branches(spec_name: str) -> list[tuple[str, Mapping[str, Any]]]:
    """(schema name, schema) for each oneOf branch of every reply and of the webhook payload."""
    document = load_spec(spec_name)
    contents = [
        response["content"]["application/json"]
        for _, operation in operations(spec_name)
        for response in operation["responses"].values()
    ]
    contents += [
        webhook["post"]["requestBody"]["content"]["application/json"]
        for webhook in document["webhooks"].values()
    ]
    found = {
        branch["$ref"].rsplit("/", 1)[1]: resolve(spec_name, branch)
        for content in contents
        for branch in content["schema"].get("oneOf", [])
    }
    return sorted(found.items())


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_every_request_constraint_says_where_it_comes_from(spec_name: str) -> None:
    wrong = []
    for kind, body in request_bodies(spec_name):
        for param, schema in constrained(body):
            keywords = CONSTRAINT_KEYWORDS & set(schema)
            marked = set(schema.get("x-provenance", {}))
            if marked != keywords:
                wrong.append(f"{kind} {param}: constraints {sorted(keywords)}, marked {sorted(marked)}")
            wrong += [
                f"{kind} {param}: {keyword}" for keyword in keywords if provenance(schema, keyword) is None
            ]
    assert wrong == []


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_every_required_field_of_a_request_says_where_it_comes_from(spec_name: str) -> None:
    for _, body in request_bodies(spec_name):
        assert set(body["x-provenance"]["required"]) == set(body["required"])
        assert all(required_provenance(body, field) in SOURCES for field in body["required"])


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_every_reply_branch_marks_its_required_list_as_the_kits_decision(spec_name: str) -> None:
    # The vendor's schemas have no required lists on their reply branches (README, disagreement 12).
    branches = reply_branches(spec_name)
    assert [name for name, _ in branches] == sorted(
        [
            "ErrorResponse",
            "FailedResponse",
            "FetchProcessingResponse",
            "FetchSuccessResponse",
            "ProcessingResponse",
            "SuccessResponse",
            "WebhookFailed",
            "WebhookSuccess",
        ]
    )
    for name, schema in branches:
        assert set(schema["x-provenance"]["required"]) == set(schema["required"]), name
        assert {required_provenance(schema, field) for field in schema["required"]} == {"inferred"}, name


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_every_cross_field_rule_says_where_it_comes_from(spec_name: str) -> None:
    rules = [rule for _, body in request_bodies(spec_name) for rule in body.get("x-cross-field-rules", [])]
    assert [rule_provenance(rule) for rule in rules] == (
        ["inferred"] if KINDS[spec_name] == "magic_mix" else []
    )


def inferred_in_spec(spec_name: str) -> set[Entry]:
    found: set[Entry] = set()
    for kind, body in request_bodies(spec_name):
        for param, schema in constrained(body):
            found |= {
                (kind, param, keyword, schema[keyword])
                for keyword in CONSTRAINT_KEYWORDS & set(schema)
                if provenance(schema, keyword) == "inferred"
            }
        found |= {
            (kind, field, "required", None)
            for field in body["required"]
            if required_provenance(body, field) == "inferred"
        }
        for rule in body.get("x-cross-field-rules", []):
            if rule_provenance(rule) == "inferred":
                (spec,) = (value for name, value in rule.items() if isinstance(value, Mapping))
                found |= {(kind, field, "x-cross-field-rules", rule["id"]) for field in spec["fields"]}
    return found


def readme_table() -> set[Entry]:
    """The rows of the README's list of what the specs add, one entry per operation, parameter, keyword."""
    text = (SPEC_DIR / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## What the specs add to the pages (`inferred`)\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]
    entries: set[Entry] = set()
    for row in rows:
        kinds, params, added, _ = (cell.strip() for cell in row.strip("|").split("|"))
        for item in re.findall(r"`([^`]+)`", added):
            keyword, _, value = item.partition(": ")
            entries |= {
                (kind.strip(), param, keyword, yaml.safe_load(value) if value else None)
                for kind in kinds.split(",")
                for param in re.findall(r"`([^`]+)`", params)
            }
    return entries


def test_the_readme_table_reads_as_entries() -> None:
    table = readme_table()
    assert ("magic_mix", "kmin", "maximum", 1) in table
    assert ("img_mixer", "guidance_scale", "default", 7.5) in table
    assert ("magic_mix", "steps", "x-cross-field-rules", "layout-phase-runs") in table
    assert {kind for kind, _, _, _ in table} == {"img_mixer", "magic_mix"}


@pytest.mark.parametrize("spec_name", SPEC_NAMES)
def test_the_inferred_constraints_are_exactly_the_readme_table(spec_name: str) -> None:
    kinds = {KINDS[spec_name], "fetch"}
    listed = {entry for entry in readme_table() if entry[0] in kinds}
    in_spec = inferred_in_spec(spec_name)
    assert {"only in the spec": in_spec - listed, "only in the README": listed - in_spec} == {
        "only in the spec": set(),
        "only in the README": set(),
    }


# The helper.


def test_provenance_reads_a_keywords_source() -> None:
    schema = {"type": "integer", "maximum": 4, "x-provenance": {"type": "pages", "maximum": "vendor-openapi"}}
    assert provenance(schema, "type") == "pages"
    assert provenance(schema, "maximum") == "vendor-openapi"
    assert provenance(schema, "minimum") is None  # not a constraint of this schema
    assert provenance({"type": "integer"}, "type") is None  # not marked
    assert provenance({"minimum": 1, "x-provenance": {"type": "pages"}}, "minimum") is None


def test_provenance_refuses_what_is_not_a_source() -> None:
    with pytest.raises(
        ValueError, match=r"'page' is not a source \(one of pages, vendor-openapi, inferred\)"
    ):
        provenance({"type": "string", "x-provenance": {"type": "page"}}, "type")
    with pytest.raises(ValueError, match=r"use required_provenance\(\)"):
        provenance({"required": ["key"]}, "required")
    with pytest.raises(ValueError, match="x-provenance must be a mapping"):
        provenance({"type": "string", "x-provenance": "pages"}, "type")


def test_required_provenance_reads_each_fields_source() -> None:
    schema = {"required": ["key", "prompt"], "x-provenance": {"required": {"key": "vendor-openapi"}}}
    assert required_provenance(schema, "key") == "vendor-openapi"
    assert required_provenance(schema, "prompt") is None  # required, not marked
    assert required_provenance(schema, "seed") is None  # not required
    with pytest.raises(ValueError, match="must map each required field to a source"):
        required_provenance({"required": ["key"], "x-provenance": {"required": "pages"}}, "key")


def test_the_helper_on_the_specs() -> None:
    schemas = load_spec("v5")["components"]["schemas"]
    samples = schemas["MagicMixRequest"]["properties"]["samples"]
    assert [provenance(samples, keyword) for keyword in ("type", "default", "minimum", "maximum")] == [
        "pages",
        "inferred",
        "inferred",
        "pages",
    ]
    assert required_provenance(schemas["MagicMixRequest"], "image") == "pages"
    assert required_provenance(schemas["FetchRequest"], "key") == "vendor-openapi"
    assert rule_provenance(schemas["MagicMixRequest"]["x-cross-field-rules"][0]) == "inferred"
    assert rule_provenance({"id": "unmarked"}) is None
