"""A one-line `curl` that sends an exchange's request again, with the key as $MIXMOCK_AUDIT_KEY."""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from conformance.cases import KEY_MARKER

__all__ = ["curl"]

_SPLICED = "'\"" + KEY_MARKER + "\"'"  # leave the single quotes, expand the variable, enter them again


def _quoted(text: str) -> str:
    return shlex.quote(text).replace(KEY_MARKER, _SPLICED)


def curl(method: str, url: str, text: str, content_type: str, headers: Mapping[str, str]) -> str:
    """`curl -sS -X POST URL -H ... --data-raw '...'`; a GET without a body saves what it downloads."""
    if method == "GET" and not text:
        return f"curl -sS -o download.bin {_quoted(url)}"
    parts = ["curl", "-sS", "-X", method, _quoted(url)]
    if content_type:
        parts += ["-H", _quoted(f"Content-Type: {content_type}")]
    for name, value in headers.items():
        parts += ["-H", _quoted(f"{name}: {value}")]
    parts += ["--data-raw", _quoted(text)]
    return " ".join(parts)
