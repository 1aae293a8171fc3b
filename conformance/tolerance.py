"""What every target must take, and what it must refuse politely: the ranges tier's body-level cases.

Must be accepted: unknown extra fields, an explicit null for each nullable field, each JSON type a
field allows, and the bodies the vendor's own SDKs send. Must be rejected with the vendor's error
envelope (never a 5xx): bodies that are no JSON object (an array, a string, a number, null), malformed
JSON, an empty body, and a JSON body under another content type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from conformance.cases import KEY_MARKER, Case, RawBody
from openapi.operations import Operation
from openapi.provenance import Source

__all__ = ["SDK_BODIES", "tolerance_cases"]

EXTRA_FIELDS: Mapping[str, Any] = {"audit_extra_field": "x", "audit_extra_object": {"nested": [1, 2]}}
_SAMPLES: Mapping[str, Any] = {"string": "audit-4242", "integer": 4242, "number": 4.5, "boolean": True}
_NOT_SAMPLED = {"webhook"}  # a URL the target would call: only ever sent as null outside the webhook stage

# What the vendor's SDKs send, for each product (the image fields are filled from the page example).
# sdk-py 0.2.3 sends MagicMixSchema(...).dict(exclude_none=True): its own defaults, guidance_scale (a field
# magic_mix does not list) and no nulls. The `modelslab` 0.2 package sends every field, nulls included,
# and init_image_weights on img_mixer.
SDK_BODIES: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    "magic_mix": {
        "sdk-py 0.2.3 MagicMixSchema": {
            "width": 512,
            "height": 512,
            "steps": 20,
            "guidance_scale": 7.5,
            "kmax": 0.5,
            "kmin": 0.5,
            "mix_factor": 0.5,
            "samples": 1,
        },
        "modelslab 0.2 magic_mix": {
            "negative_prompt": None,
            "width": 768,
            "height": 768,
            "kmax": 0.5,
            "kmin": 0.3,
            "samples": 1,
            "seed": 1829183163,
            "mix_factor": 0.5,
            "steps": 20,
            "webhook": None,
            "track_id": None,
        },
    },
    "img_mixer": {
        "modelslab 0.2 img_mixer": {
            "negative_prompt": None,
            "width": 800,
            "height": 600,
            "seed": 12345,
            "init_image_weights": "0.5,0.7",
            "guidance_scale": 10,
            "steps": 40,
            "samples": 1,
            "webhook": None,
            "track_id": None,
        },
    },
}
_BODY_SOURCES: Mapping[str, Source] = {
    # The vendor's OpenAPI sets no additionalProperties: unknown fields are allowed.
    "unknown fields tolerated": "vendor-openapi",
}


def _case(
    operation: Operation, parameter: str, constraint: str, value: Any, body: Any, source: Source
) -> Case:
    return Case(operation, "ranges", parameter, constraint, value, body, provenance=source)


def _typed_values(operation: Operation, base: Mapping[str, Any]) -> Iterator[Case]:
    """null for each nullable field, and a value of each type a field allows that the page does not send."""
    for name, schema in operation.property_schemas.items():
        declared = schema.get("type", [])
        declared = [declared] if isinstance(declared, str) else list(declared)
        label = f"type {'|'.join(declared)}"
        if name == "key":
            continue
        if "null" in declared and base.get(name, 0) is not None:
            yield _case(operation, name, label, None, {**base, name: None}, "pages")
        if name in _NOT_SAMPLED or base.get(name) is not None:
            continue
        for kind in declared:
            if kind in _SAMPLES:
                value = _SAMPLES[kind]
                yield _case(operation, name, label, value, {**base, name: value}, "pages")


def _sdk_cases(operation: Operation, base: Mapping[str, Any]) -> Iterator[Case]:
    required = {name: base[name] for name in operation.request_schema.get("required", []) if name in base}
    for client, fields in SDK_BODIES.get(operation.product or "", {}).items():
        body = {**required, **fields}
        yield _case(operation, "(body)", f"the {client} body", body, body, "pages")


def _not_objects(operation: Operation, base: Mapping[str, Any]) -> Iterator[Case]:
    keyed = json.dumps({"key": KEY_MARKER, **base})
    raw = (
        ("type object", RawBody("[]")),
        ("type object", RawBody(json.dumps(base.get("prompt", "x")))),
        ("type object", RawBody("42")),
        ("type object", RawBody("null")),
        ("a JSON body", RawBody(keyed[: keyed.index(",") + 1])),  # cut after the key: no closing brace
        ("a JSON body", RawBody("")),
        ("content type application/json", RawBody(keyed, "text/plain")),
    )
    for constraint, body in raw:
        yield _case(operation, "(body)", constraint, body, body, "pages")


def tolerance_cases(operation: Operation, base: Mapping[str, Any]) -> list[Case]:
    extra = {**base, **EXTRA_FIELDS}
    constraint = "unknown fields tolerated"
    cases = [_case(operation, "(body)", constraint, EXTRA_FIELDS, extra, _BODY_SOURCES[constraint])]
    cases.extend(_typed_values(operation, base))
    cases.extend(_sdk_cases(operation, base))
    cases.extend(_not_objects(operation, base))
    return cases
