"""Keeping secrets out of recordings: the key, the auth headers and any `--redact` field or header.

Redaction happens before an exchange is written: fields and headers by name, and then every string
(URLs, header values, bodies, violation messages) scrubbed of each secret value seen in the exchange,
in each spelling JSON or a URL may give it (`\\/` escaped, `\\u` escaped, percent-encoded). A secret
shorter than 8 characters (a test key) is replaced only where it stands alone, and one shorter than 4
(a `seed` of 7) only by its field's name, so that scrubbing never eats ids and words.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from mock_server.services.redaction import REDACTED

__all__ = ["AUTH_HEADERS", "REDACTED", "Redactor"]

# Headers that carry credentials in the clients the vendor's users run (VENDOR-BEHAVIOUR.md section 1).
AUTH_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "key", "x-api-key", "api-key", "cookie", "set-cookie"}
)
_URL_REDACTED = quote(REDACTED, safe="")
_SHORT = 8
_TINY = 4
_REMEMBERED = 256  # secrets of recent exchanges, scrubbed from every later one too


def _spellings(secret: str) -> set[str]:
    plain = json.dumps(secret, ensure_ascii=False)[1:-1]
    return {secret, plain, plain.replace("/", "\\/"), json.dumps(secret)[1:-1], quote(secret, safe="")}


class Redactor:
    """Names to redact, and the secret values seen so far (the last few hundred, in memory only)."""

    def __init__(self, fields: Iterable[str] = (), headers: Iterable[str] = ()) -> None:
        names = {name.strip() for name in fields if name.strip()}
        self.fields = frozenset({"key", *names})
        self.headers = AUTH_HEADERS | {name.lower() for name in names} | {name.lower() for name in headers}
        self._secrets: OrderedDict[str, None] = OrderedDict()
        self._pattern: re.Pattern[str] | None = None

    def learn_body(self, value: Any) -> None:
        """Remember the values of redacted fields, at any depth of a JSON value."""
        stack = self._redacted_values(value)  # and every value inside a redacted list or object
        while stack:
            item = stack.pop()
            if isinstance(item, Mapping):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, str | int | float) and not isinstance(item, bool):
                self._remember(str(item))

    def learn_url(self, url: str) -> None:
        """Remember the values of redacted names in a URL's query (`?key=...`, `?token=...`)."""
        for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=False):
            if name in self.fields or name.lower() in self.headers:
                self._remember(value)

    def learn_headers(self, headers: Iterable[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() in self.headers:
                self._remember(value)
                scheme, _, token = value.partition(" ")
                if token and scheme.lower() in {"bearer", "basic", "token"}:
                    self._remember(token)

    def _remember(self, secret: str) -> None:
        secret = secret.strip()
        if len(secret) < _TINY or secret in self._secrets:
            return
        self._secrets[secret] = None
        while len(self._secrets) > _REMEMBERED:
            self._secrets.popitem(last=False)
        self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._secrets:
            parts = []
            for secret in sorted(self._secrets, key=len, reverse=True):
                for spelling in sorted(_spellings(secret), key=len, reverse=True):
                    escaped = re.escape(spelling)
                    parts.append(escaped if len(secret) >= _SHORT else rf"(?<![\w-]){escaped}(?![\w-])")
            self._pattern = re.compile("|".join(parts))
        return self._pattern

    def text(self, value: str) -> str:
        pattern = self._compiled()
        return pattern.sub(REDACTED, value) if pattern is not None else value

    def url(self, value: str) -> str:
        """A URL scrubbed with the marker percent-encoded, so that it stays a valid URL."""
        pattern = self._compiled()
        return pattern.sub(_URL_REDACTED, value) if pattern is not None else value

    def json(self, value: Any) -> Any:
        """A copy of a JSON value with redacted fields replaced and every string scrubbed."""
        if isinstance(value, Mapping):
            return {
                self.text(str(name)): REDACTED if name in self.fields else self.json(item)
                for name, item in value.items()
            }
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def header(self, name: str, value: str) -> str:
        return REDACTED if name.lower() in self.headers else self.text(value)

    def document(self, text: str, parsed: Any) -> str:
        """The text of a JSON document (`parsed` is its value, None when it is not JSON) made safe to keep.

        Redacted fields holding a string or number are replaced where they stand, keeping every other
        byte the sender wrote; a redacted field holding an object or list makes the whole document
        re-encoded from its redacted value.
        """
        kinds = self._redacted_values(parsed)
        if any(isinstance(value, Mapping | list) for value in kinds):
            return json.dumps(self.json(parsed), ensure_ascii=False)
        for name in sorted(self.fields) if kinds else ():
            pattern = rf'("{re.escape(name)}"\s*:\s*)("(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*)'
            text = re.sub(pattern, lambda match: f'{match.group(1)}"{REDACTED}"', text)
        return self.text(text)

    def _redacted_values(self, value: Any) -> list[Any]:
        found: list[Any] = []
        stack = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, Mapping):
                for name, item in node.items():
                    if name in self.fields:
                        found.append(item)
                    else:
                        stack.append(item)
            elif isinstance(node, list):
                stack.extend(node)
        return found
