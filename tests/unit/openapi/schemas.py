"""Validators for one component of a spec, with `$ref`s resolved and formats checked."""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import FormatChecker
from jsonschema.protocols import Validator
from openapi_schema_validator import OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from openapi import load_spec

SPEC_NAMES = ("v6", "v1-enterprise", "v5")
CREATE_OPERATIONS = {  # spec name -> (path, operationId, request schema)
    "v6": ("/image_editing/img_mixer", "img_mixer", "ImageMixerRequest"),
    "v1-enterprise": ("/image_editing/magic_mix", "magic_mix_enterprise", "MagicMixRequest"),
    "v5": ("/magic_mix", "magic_mix_v5", "MagicMixRequest"),
}
FETCH_OPERATIONS = {
    "v6": ("/image_editing/fetch/{id}", "fetch_v6"),
    "v1-enterprise": ("/image_editing/fetch/{id}", "fetch_enterprise"),
    "v5": ("/fetch/{id}", "fetch_v5"),
}


@functools.cache
def _registry(spec_name: str) -> Registry[Any]:
    resource = Resource.from_contents(load_spec(spec_name), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(f"urn:mixmock:{spec_name}", resource)
    return registry


def validator(spec_name: str, schema: dict[str, Any]) -> Validator:
    """A validator for `schema`, whose local `$ref`s point into the named spec."""
    wrapped = {"$ref": f"urn:mixmock:{spec_name}#/$defs/target", "$defs": {}}
    document = {**load_spec(spec_name), "$defs": {"target": schema}}
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = _registry(spec_name).with_resource(f"urn:mixmock:{spec_name}", resource)
    checker: Validator = OAS31Validator(wrapped, registry=registry, format_checker=FormatChecker())
    return checker


def component(spec_name: str, name: str) -> Validator:
    return validator(spec_name, {"$ref": f"#/components/schemas/{name}"})


def errors(spec_name: str, schema_name: str, instance: Any) -> list[str]:
    return sorted(error.message for error in component(spec_name, schema_name).iter_errors(instance))
