"""A request the audit sends, with what it is about (parameter, constraint, value)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openapi.operations import Operation

__all__ = ["MISSING", "WRONG_KEY", "Case", "render_value"]

WRONG_KEY = "mixmock-audit-wrong-key"


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Case:
    """One request: `body` never holds the key; the client injects it (or `key_override`)."""

    operation: Operation
    tier: str
    parameter: str
    constraint: str
    value: Any
    body: Any
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    key_override: str | None = None  # sent instead of the audit key (the wrong-key case)
    omit_key: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    derived: bool = False  # built from a reply (a job id, a receiver URL): kept out of the corpus

    @property
    def sent(self) -> str:
        return render_value(self.value)


def render_value(value: Any, limit: int = 80) -> str:
    """A short, stable rendering of a value for findings and reports."""
    if value is MISSING:
        return "(absent)"
    if isinstance(value, bytes):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, ensure_ascii=True, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
