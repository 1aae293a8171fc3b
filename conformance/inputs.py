"""The audit's input images: `--image-url` replaces the page examples' image URLs in every body sent.

The vendor's pages point at images on github and the vendor's CDN, which an offline target (the
reference engine in CI, a clone behind a firewall) cannot fetch; it would reject every valid body.
Only values that are URIs are replaced, so format probes ("not a uri") and type probes go out as
they are. The corpus hash covers the bodies sent, so it depends on the URL chosen.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from jsonschema import FormatChecker

from conformance.cases import Case, RawBody

__all__ = ["IMAGE_FIELDS", "image_url_problem", "with_image_url"]

IMAGE_FIELDS = ("image", "init_image")  # a URL (magic_mix) and a list of URLs (img_mixer)
_SCHEMES = ("http://", "https://", "data:")
_FORMATS = FormatChecker()


def _is_uri(value: Any) -> bool:
    return isinstance(value, str) and _FORMATS.conforms(value, "uri")


def image_url_problem(url: str) -> str | None:
    """Why `url` cannot stand in for the pages' images, or None when it can."""
    if not url.lower().startswith(_SCHEMES):
        return "is neither an http(s) URL nor a data: URI"
    if not _is_uri(url):
        return "is not a valid URI (RFC 3987)"
    return None


def _replaced(name: str, value: Any, url: str) -> Any:
    if name == "image":
        return url if _is_uri(value) else value
    if isinstance(value, list):
        return [url if _is_uri(item) else item for item in value]
    return value


def _raw_with_image_url(case: Case, url: str) -> Case:
    """A raw body that is a JSON object (one sent under another content type) gets the URL too."""
    assert isinstance(case.body, RawBody)
    try:
        parsed = json.loads(case.body.text)
    except ValueError:
        return case
    if not isinstance(parsed, dict) or not any(name in parsed for name in IMAGE_FIELDS):
        return case
    replaced = {
        name: _replaced(name, value, url) if name in IMAGE_FIELDS else value for name, value in parsed.items()
    }
    body = dataclasses.replace(case.body, text=json.dumps(replaced))
    return dataclasses.replace(case, body=body, value=body)


def with_image_url(case: Case, url: str | None) -> Case:
    """`case` with each image URL in its body (and its reported value) replaced by `url`."""
    if url is not None and isinstance(case.body, RawBody):
        return _raw_with_image_url(case, url)
    if url is None or not isinstance(case.body, Mapping):
        return case
    fields = [name for name in IMAGE_FIELDS if name in case.body]
    if not fields:
        return case
    body = {**case.body, **{name: _replaced(name, case.body[name], url) for name in fields}}
    value = _replaced(case.parameter, case.value, url) if case.parameter in IMAGE_FIELDS else case.value
    if case.parameter == "(body)":
        value = body
    return dataclasses.replace(case, body=body, value=value)
