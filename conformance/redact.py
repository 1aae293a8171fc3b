"""Keeps the audit key out of everything the audit writes: console, JUnit, JSON, HTML, corpus."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["FILTERED", "Redactor"]

FILTERED = "[Filtered]"


class Redactor:
    """Replaces the key wherever it appears: as the `key` field and as a token of any text.

    A token, not any substring: a short test key such as "k" must not turn "smoke" into "smo[Filtered]e".
    The key is filtered wherever no letter, digit, `_` or `-` touches it on either side, which covers
    JSON strings, `key=...` pairs, URLs and free text.
    """

    def __init__(self, secret: str, *, field: str = "key") -> None:
        self._secret = secret
        self._field = field
        self._pattern = re.compile(rf"(?<![\w-]){re.escape(secret)}(?![\w-])") if secret else None

    def text(self, value: str) -> str:
        return self._pattern.sub(FILTERED, value) if self._pattern is not None else value

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
