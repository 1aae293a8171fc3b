"""Keeps the audit key out of everything the audit writes: console, JUnit, JSON, HTML, cassette, corpus.

Values are redacted, never the rendered text: every string of a report's data has each occurrence of
the key replaced (inside longer strings too) before the report is rendered, so the structure of the
file (JSON, XML, HTML) is written by its own serializer and cannot be corrupted by a key that happens
to be `true`, `1`, `status` or `testsuite`, or holds regex characters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["FILTERED", "Redactor"]

FILTERED = "[Filtered]"


class Redactor:
    """Replaces the key wherever it occurs in a string (a field's value, a message, a URL, a name)."""

    def __init__(self, secret: str) -> None:
        # The key as written, and as it reads inside a JSON string (a quote or a backslash escaped).
        escaped = json.dumps(secret)[1:-1]
        self._forms = [form for form in dict.fromkeys([escaped, secret]) if form]

    def text(self, value: str) -> str:
        """One string with every occurrence of the key replaced."""
        for form in self._forms:
            value = value.replace(form, FILTERED)
        return value

    def data(self, value: Any) -> Any:
        """A copy of a JSON-like value with the key removed from every string, names included."""
        if isinstance(value, Mapping):
            return {self.text(str(name)): self.data(item) for name, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", errors="replace"))
        return value
