"""Keeps the audit key out of everything the audit writes: console, JUnit, JSON, HTML, corpus."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["FILTERED", "Redactor"]

FILTERED = "[Filtered]"


class Redactor:
    """Replaces the key wherever it appears: as the `key` field and as a substring of any text."""

    def __init__(self, secret: str, *, field: str = "key") -> None:
        self._secret = secret
        self._field = field

    def text(self, value: str) -> str:
        return value.replace(self._secret, FILTERED) if self._secret else value

    def data(self, value: Any) -> Any:
        """A copy of a JSON-like value with the key field and every occurrence of the key filtered."""
        if isinstance(value, Mapping):
            return {
                self.text(str(name)): FILTERED if name == self._field else self.data(item)
                for name, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes):
            return self.text(value.decode("utf-8", errors="replace"))
        return value
