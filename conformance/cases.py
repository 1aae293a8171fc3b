"""A request the audit sends, with what it is about (parameter, constraint, value)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from openapi.operations import Operation
from openapi.provenance import Source

__all__ = ["KEY_MARKER", "MISSING", "WRONG_KEY", "Case", "RawBody", "render_value"]

WRONG_KEY = "mixmock-audit-wrong-key"
# Stands for the key in a raw body's text and in a reproducer; the client puts the real key in its place.
KEY_MARKER = "$MIXMOCK_AUDIT_KEY"


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class RawBody:
    """A body sent as written: not JSON, not an object, or under another content type.

    `text` may hold KEY_MARKER where the key goes; `content_type` "" sends no Content-Type header.
    """

    text: str
    content_type: str = "application/json"


@dataclass(frozen=True)
class Case:
    """One request: `body` never holds the key; the client injects it (or `key_override`)."""

    operation: Operation
    tier: str
    parameter: str
    constraint: str
    value: Any
    body: Any  # a JSON value, or a RawBody
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    key_override: str | None = None  # sent instead of the audit key (the wrong-key case)
    omit_key: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    derived: bool = False  # built from a reply (a job id, a receiver URL): kept out of the corpus
    # The source of what this case probes, where no schema keyword says it (tolerance, SDK bodies).
    provenance: Source | None = None
    attempt: int = 0  # a deliberate repeat of the same request (seeds): sent again, not answered from memory

    @property
    def sent(self) -> str:
        return render_value(self.value)


def render_value(value: Any, limit: int = 80, redact: Callable[[str], str] | None = None) -> str:
    """A short, stable rendering of a value for findings and reports (`redact` runs before shortening)."""
    if value is MISSING:
        return "(absent)"
    if isinstance(value, RawBody):
        text = repr(value.text) + (f" as {value.content_type}" if value.content_type else " (no type)")
    elif isinstance(value, bytes):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, ensure_ascii=True, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(value)
    if redact is not None:
        text = redact(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
