"""Recordings as HAR 1.2 (the HTTP Archive format browsers, WireMock, Microcks and Hoverfly read).

One file per proxy run, written as exchanges complete: the file is always a whole HAR document, each
entry on one line. Appending rewrites only the closing brackets, so a long session costs what it adds;
a file cut short by a crash is read up to its last complete entry. What mixmock adds to the format is
under `_mixmock` keys, as HAR 1.2 allows for custom fields (the operation, the job, the violations).
Everything reaching an entry has been through the `Redactor` first.
"""

from __future__ import annotations

import base64
import datetime
import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mock_server.proxy.redaction import Redactor

__all__ = ["HAR_VERSION", "Exchange", "HarWriter", "har_entry", "read_har", "read_recordings"]

HAR_VERSION = "1.2"
CREATOR = {"name": "mixmock", "version": "0.1.0"}
_TAIL = b"\n]}}\n"
_TEXT_TYPES = ("application/json", "text/", "application/problem+json", "application/xml")


@dataclass
class Exchange:
    """One request and its reply, as they went through the proxy (before redaction)."""

    started_at: float  # seconds since the epoch
    method: str
    url: str
    request_headers: Sequence[tuple[str, str]]
    request_body: bytes | None
    status: int
    reason: str
    reply_headers: Sequence[tuple[str, str]]
    reply_body: bytes
    wait_s: float = 0.0
    receive_s: float = 0.0
    request_json: Any = None  # the parsed request body, when it is JSON
    reply_json: Any = None  # the parsed reply, when it is JSON
    notes: dict[str, Any] = field(default_factory=dict)  # the `_mixmock` part


def _header(headers: Sequence[tuple[str, str]], name: str) -> str:
    return next((value for key, value in headers if key.lower() == name), "")


def _is_text(mime_type: str) -> bool:
    return mime_type.split(";", 1)[0].strip().lower().startswith(_TEXT_TYPES) or mime_type.endswith("+json")


def _content(body: bytes, parsed: Any, mime_type: str, redactor: Redactor) -> dict[str, Any]:
    content: dict[str, Any] = {"size": len(body), "mimeType": mime_type or "application/octet-stream"}
    if not body:
        content["text"] = ""
        return content
    if _is_text(mime_type):
        try:
            content["text"] = redactor.document(body.decode("utf-8"), parsed)
            return content
        except UnicodeDecodeError:
            pass
    content["text"] = base64.b64encode(body).decode("ascii")
    content["encoding"] = "base64"
    return content


def _headers(headers: Sequence[tuple[str, str]], redactor: Redactor) -> list[dict[str, str]]:
    return [{"name": name, "value": redactor.header(name, value)} for name, value in headers]


def _iso(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat(timespec="milliseconds")


def har_entry(exchange: Exchange, redactor: Redactor) -> dict[str, Any]:
    """A HAR 1.2 entry of an exchange, redacted: the only way an exchange reaches a recording."""
    redactor.learn_url(exchange.url)
    url = redactor.url(exchange.url)
    request: dict[str, Any] = {
        "method": exchange.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": _headers(exchange.request_headers, redactor),
        "queryString": [
            {"name": name, "value": redactor.header(name, value)}
            for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)
        ],
        "headersSize": -1,
        "bodySize": len(exchange.request_body) if exchange.request_body is not None else 0,
    }
    if exchange.request_body is not None:
        mime_type = _header(exchange.request_headers, "content-type") or "application/octet-stream"
        posted = _content(exchange.request_body, exchange.request_json, mime_type, redactor)
        request["postData"] = {"mimeType": posted["mimeType"], "text": posted["text"], "params": []}
        if "encoding" in posted:
            request["postData"]["_encoding"] = posted["encoding"]
    wait_ms, receive_ms = round(exchange.wait_s * 1000, 3), round(exchange.receive_s * 1000, 3)
    reply_type = _header(exchange.reply_headers, "content-type")
    return {
        "startedDateTime": _iso(exchange.started_at),
        "time": round(wait_ms + receive_ms, 3),
        "request": request,
        "response": {
            "status": exchange.status,
            "statusText": exchange.reason,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": _headers(exchange.reply_headers, redactor),
            "content": _content(exchange.reply_body, exchange.reply_json, reply_type, redactor),
            "redirectURL": redactor.url(_header(exchange.reply_headers, "location")),
            "headersSize": -1,
            "bodySize": len(exchange.reply_body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": wait_ms, "receive": receive_ms},
        "_mixmock": redactor.json(exchange.notes),
    }


class HarWriter:
    """Appends entries to one HAR file; stops (and says so) once `max_bytes` would be passed."""

    def __init__(self, path: Path, notes: Mapping[str, Any], max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.entries = 0
        self.full = False
        path.parent.mkdir(parents=True, exist_ok=True)
        head = {"log": {"version": HAR_VERSION, "creator": CREATOR, "pages": [], "_mixmock": dict(notes)}}
        # The head is the document with its entries list left open: `{"log": {..., "entries": [`.
        text = json.dumps(head, ensure_ascii=False)[:-2] + ', "entries": ['
        with open(path, "xb") as file:
            file.write(text.encode("utf-8") + _TAIL)
        self.size = path.stat().st_size

    def append(self, entry: Mapping[str, Any]) -> bool:
        """Write one entry; False (nothing written) when the file would pass its size limit."""
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        data = (b",\n" if self.entries else b"\n") + line + _TAIL
        if self.size - len(_TAIL) + len(data) > self.max_bytes:
            self.full = True
            return False
        with open(self.path, "r+b") as file:
            file.seek(-len(_TAIL), os.SEEK_END)
            file.write(data)
            file.truncate()
        self.size += len(data) - len(_TAIL)
        self.entries += 1
        return True


def _cut_short(text: str) -> dict[str, Any]:
    """A file whose last append was cut off: its head and every entry line that is whole."""
    head, _, rest = text.partition("\n")
    if not head.endswith('"entries": ['):
        raise ValueError("not a HAR document")
    document: dict[str, Any] = json.loads(head + "]}}")
    for line in io.StringIO(rest):
        line = line.strip().removesuffix(",")
        if not line.startswith("{"):
            break
        try:
            document["log"]["entries"].append(json.loads(line))
        except ValueError:
            break
    return document


def read_har(path: Path) -> dict[str, Any]:
    """A HAR document (any writer's); ValueError naming the file when it cannot be read as one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read recording {str(path)!r}: {error}") from None
    try:
        document: Any = json.loads(text)
    except ValueError:
        try:
            document = _cut_short(text)
        except ValueError as error:
            raise ValueError(f"recording {str(path)!r} is not a HAR file: {error}") from None
    entries = document.get("log", {}).get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ValueError(f"recording {str(path)!r} is not a HAR file: it has no log.entries list")
    return dict(document)


def read_recordings(directory: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every `*.har` file of a directory, oldest name first; ValueError when there is none."""
    folder = Path(directory)
    if not folder.is_dir():
        raise ValueError(f"recording directory {str(folder)!r} does not exist")
    files = sorted(folder.glob("*.har"))
    if not files:
        raise ValueError(f"recording directory {str(folder)!r} holds no *.har file")
    return [(path, read_har(path)) for path in files]
