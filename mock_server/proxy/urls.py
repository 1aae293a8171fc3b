"""Which URLs in a reply go through mixmock, where they go, and how a reply's text is rewritten.

The proxy (while recording) and the replay rewrite the same fields the same way, so a client sees the
same URLs from both, on a different origin: `fetch_result` on the target keeps its path (the fetch is a
spec route), and output files become `/_recorded/<scheme>/<host>/<path>` on the proxy's (or the mock's)
origin. The rewrite works on the reply's text, so every other byte the vendor sent is kept (escaped
slashes, float etas, the order of the fields).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mock_server.parsing import HostAllowList

__all__ = [
    "FILE_FIELDS",
    "PROXY_PREFIX",
    "RECORDED_PREFIX",
    "UrlPlan",
    "recorded_upstream",
    "reply_urls",
    "rewrite_urls",
]

RECORDED_PREFIX = "/_recorded"  # output files, downloaded through the proxy or served from a recording
PROXY_PREFIX = "/_mixmock/proxy"  # the proxy's own routes: health, the webhook receiver
FILE_FIELDS = ("future_links", "output", "proxy_links")  # lists of output file URLs
_FETCH_FIELD = "fetch_result"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


@dataclass(frozen=True)
class UrlPlan:
    """The target's origin and the other hosts whose output files mixmock may fetch."""

    target: str  # an origin, e.g. https://modelslab.com
    downloads: HostAllowList

    def on_target(self, url: str) -> bool:
        try:
            return _origin(url) == _origin(self.target)
        except ValueError:
            return False

    def may_download(self, url: str) -> bool:
        """A file on the target, or on a listed download host (names as written, never resolved)."""
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            return False
        if parts.scheme not in {"http", "https"} or not host:
            return False
        return self.on_target(url) or self.downloads.allows_name(host)

    def client_url(self, url: str, field: str, origin: str) -> str:
        """Where a client finds `url` through mixmock on `origin`; `url` when mixmock may not fetch it."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return url
        query = f"?{parts.query}" if parts.query else ""
        if field == _FETCH_FIELD:
            return f"{origin}{parts.path}{query}" if self.on_target(url) else url
        if self.may_download(url):
            return f"{origin}{RECORDED_PREFIX}/{parts.scheme}/{parts.netloc}{parts.path}{query}"
        return url


def recorded_upstream(path: str, query: str = "") -> str | None:
    """The upstream URL of a `/_recorded/<scheme>/<host>/<path>` path, or None when it is not one."""
    rest = path.removeprefix(RECORDED_PREFIX + "/")
    if rest == path:
        return None
    scheme, _, rest = rest.partition("/")
    netloc, slash, file_path = rest.partition("/")
    if scheme not in {"http", "https"} or not netloc or not slash:
        return None
    return f"{scheme}://{netloc}/{file_path}" + (f"?{query}" if query else "")


def reply_urls(body: Any) -> Iterator[tuple[str, str]]:
    """(field, URL) for each URL a reply or webhook payload points a client at."""
    if not isinstance(body, Mapping):
        return
    fetch = body.get(_FETCH_FIELD)
    if isinstance(fetch, str) and fetch:
        yield _FETCH_FIELD, fetch
    for field in FILE_FIELDS:
        values = body.get(field)
        if isinstance(values, list):
            yield from ((field, value) for value in values if isinstance(value, str) and value)


def _plain(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _escaped(value: str) -> str:
    return _plain(value).replace("/", "\\/")


def rewrite_urls(text: str, body: Any, rewrite: Callable[[str, str], str]) -> str:
    """`text` (the JSON of `body`, as sent) with each reply URL replaced by `rewrite(url, field)`.

    Only whole JSON strings are replaced, in the escaping the sender used (`https:\\/\\/` stays escaped).
    """
    changes: dict[str, str] = {}
    for field, url in reply_urls(body):
        new = rewrite(url, field)
        if new != url:
            changes[url] = new
    for old, new in changes.items():
        for encode in (_plain, _escaped):
            text = text.replace(f'"{encode(old)}"', f'"{encode(new)}"')
    return text
