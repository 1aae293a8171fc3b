"""What the journal keeps of a request body: the key redacted, and a bounded copy of the rest.

A body may be a megabyte of short strings or numbers (a 99 000-item `init_image`); the journal keeps
every scalar field, then containers while a byte budget lasts: long strings are cut, long lists keep
their first items and say how many more there were, and what does not fit is named, not stored. Filters
(`body.steps=41`, `body.init_image.0=...`) still see the fields a client usually asks about.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BODY_BUDGET", "MAX_ITEMS", "MAX_TEXT", "REDACTED", "cut_text", "redact"]

REDACTED = "[redacted]"
MAX_TEXT = 2000  # characters kept of one string (a 1 MB prompt is noted, not kept)
MAX_ITEMS = 64  # items kept of one list, fields of one object
BODY_BUDGET = 16 * 1024  # about how many characters of JSON one journaled body may take


def cut_text(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text) - limit} more characters]"


class _Budget:
    """Characters of JSON still to spend; every kept value costs about its encoded length."""

    def __init__(self, left: int) -> None:
        self.left = left

    def spend(self, value: Any) -> Any:
        if isinstance(value, str):
            kept = cut_text(value)
            self.left -= len(kept) + 2
            return kept
        if isinstance(value, list):
            return self._list(value)
        if isinstance(value, dict):
            return self._object(value)
        self.left -= len(repr(value)) if isinstance(value, int | float) else 5  # true, false, null
        return value

    def _list(self, items: list[Any]) -> list[Any]:
        kept: list[Any] = []
        for item in items[:MAX_ITEMS]:
            if self.left <= 0:
                break
            kept.append(self.spend(item))
        if len(kept) < len(items):
            kept.append(f"...[{len(items) - len(kept)} more items]")
        return kept

    def _object(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Scalars first (cheap, and what filters ask about), then containers; the fields' order kept."""
        names = list(fields)[:MAX_ITEMS]
        spent: dict[str, Any] = {}
        for scalars in (True, False):
            for name in names:
                if isinstance(fields[name], list | dict) == scalars or self.left <= 0:
                    continue
                self.left -= min(len(name), 200) + 4
                spent[name] = self.spend(fields[name])
        kept = {cut_text(name, 200): spent[name] for name in names if name in spent}
        if len(kept) < len(fields):
            kept["..."] = f"[{len(fields) - len(kept)} more fields]"
        return kept


def _fits(body: dict[str, Any], budget: int) -> bool:
    """Whether every field of `body` is kept as it is: the usual body (a few short fields, a short list
    of URLs), recognised in one cheap pass. Every journaled request goes through here."""
    if len(body) > MAX_ITEMS:
        return False
    size = 0
    for name, value in body.items():
        kind = type(value)
        if kind is list:
            if len(value) > MAX_ITEMS:
                return False
            for item in value:
                if type(item) is not str or len(item) > MAX_TEXT:
                    return False
                size += len(item) + 3
        elif kind is str:
            if len(value) > MAX_TEXT:
                return False
            size += len(value)
        elif kind is dict:
            return False
        size += len(name) + 24
    return size <= budget


def redact(body: Any, budget: int = BODY_BUDGET) -> Any:
    """The body fit for a journal (a new value): `key` replaced, the rest bounded to about `budget`
    characters of JSON. Only the body's own `key` is a credential; nested `key` fields are data."""
    if isinstance(body, dict) and _fits(body, budget):
        return {
            name: REDACTED if name == "key" else list(value) if type(value) is list else value
            for name, value in body.items()
        }
    spender = _Budget(budget)
    if not isinstance(body, dict):
        return spender.spend(body)
    return spender.spend({name: REDACTED if name == "key" else value for name, value in body.items()})
