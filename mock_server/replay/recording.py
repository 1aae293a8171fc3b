"""A directory of HAR recordings, read once and indexed for replay: creates, job lifecycles, files.

Recordings of `mixmock proxy --record` say what each entry was (`_mixmock`: the operation, the job);
a HAR file from another tool is understood by routing its URLs through the specs, so a browser's or
another proxy's capture of the vendor replays too.

    creates      (operationId, request body without key, webhook and redacted fields) -> the recorded
                 creates with that body, in the order they were made
    lifecycles   (spec, job id) -> the create, then every fetch and webhook of that job, in time order
    files        URL -> the recorded download
"""

from __future__ import annotations

import base64
import datetime
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mock_server.parsing import HostAllowList
from mock_server.pipeline.routing import Route, route, route_table
from mock_server.problems import Problem
from mock_server.proxy.har import read_recordings
from mock_server.proxy.redaction import REDACTED
from mock_server.proxy.urls import UrlPlan

__all__ = ["IGNORED_FIELDS", "Lifecycle", "Recorded", "Recording", "load_recording", "match_key"]

# Fields a replayed create is matched without: the key (never recorded) and the client's webhook URL
# (a new port each run). Fields the recording redacted are left out too.
IGNORED_FIELDS = frozenset({"key", "webhook"})


@dataclass(frozen=True)
class Recorded:
    """One recorded exchange, decoded."""

    source: str  # "<file>#<entry index>", for the journal and the X-Mixmock-Replay header
    started: float  # seconds since the epoch
    time_s: float  # how long the exchange took
    method: str
    url: str
    kind: str  # create | fetch | webhook | download | other
    spec: str | None
    operation: str | None
    job_id: str | None
    request_text: str
    request_headers: tuple[tuple[str, str], ...]
    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes

    @property
    def request_json(self) -> Any:
        return _json(self.request_text)

    @property
    def reply_json(self) -> Any:
        try:
            return _json(self.content.decode("utf-8"))
        except UnicodeDecodeError:
            return None

    @property
    def content_type(self) -> str:
        return next((value for name, value in self.headers if name.lower() == "content-type"), "")


@dataclass
class Lifecycle:
    """A job as recorded: its create (when the recording has it), fetches and webhooks, oldest first."""

    create: Recorded | None = None
    fetches: list[Recorded] = field(default_factory=list)
    webhooks: list[Recorded] = field(default_factory=list)

    @property
    def start(self) -> float:
        """Where the job's clock starts: its create, or its first recorded fetch."""
        if self.create is not None:
            return self.create.started
        return self.fetches[0].started if self.fetches else 0.0


@dataclass(frozen=True)
class Recording:
    plan: UrlPlan  # how the recorded URLs were (and are again) rewritten through mixmock
    creates: Mapping[tuple[str, str], Sequence[Recorded]]
    lifecycles: Mapping[tuple[str, str], Lifecycle]
    files: Mapping[str, Recorded]
    redacted: frozenset[str]
    entries: tuple[Recorded, ...]  # every entry that the vendor answered (or sent: webhooks), oldest first

    def match_key(self, body: Any) -> str | None:
        return match_key(body, self.redacted)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def match_key(body: Any, redacted: Iterable[str] = ()) -> str | None:
    """The canonical text a create is matched by; None for a body that is not a JSON object."""
    if not isinstance(body, Mapping):
        return None
    left_out = IGNORED_FIELDS | set(redacted)
    kept = {name: value for name, value in body.items() if name not in left_out and value != REDACTED}
    return json.dumps(kept, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _started(text: Any) -> float:
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _content(content: Mapping[str, Any]) -> bytes:
    text = str(content.get("text", ""))
    if content.get("encoding") == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")


def _pairs(headers: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(item.get("name", "")), str(item.get("value", ""))) for item in headers or [])


def _understood(
    entry: Mapping[str, Any], routes: Sequence[Route]
) -> tuple[str, str | None, str | None, str | None]:
    """(kind, spec, operationId, job id) from mixmock's notes, or by routing the URL (other tools' files)."""
    notes = entry.get("_mixmock")
    if isinstance(notes, Mapping) and "kind" in notes:
        job = notes.get("job_id")
        return (
            str(notes["kind"]),
            notes.get("spec"),
            notes.get("operation"),
            None if job is None else str(job),
        )
    request = entry["request"]
    try:
        routed = route(routes, str(request["method"]), urlsplit(str(request["url"])).path)
    except Problem:
        return ("download" if request["method"] == "GET" else "other"), None, None, None
    operation = routed.operation
    job = routed.path_params.get("id")
    if job is None:
        reply = _json(str(entry["response"].get("content", {}).get("text", "")))
        job = reply.get("id") if isinstance(reply, Mapping) else None
    job_text = str(job) if isinstance(job, int | str) and job != "" else None
    return operation.kind, operation.spec, operation.operation_id, job_text


def _decode(path: Path, index: int, entry: Mapping[str, Any], routes: Sequence[Route]) -> Recorded | None:
    notes = entry.get("_mixmock")
    if isinstance(notes, Mapping) and notes.get("answered_by") == "proxy" and notes.get("kind") != "webhook":
        return None  # the proxy's own answer (a blocked request, a failed target): not the vendor's
    kind, spec, operation, job = _understood(entry, routes)
    request, response = entry["request"], entry["response"]
    return Recorded(
        source=f"{path.name}#{index}",
        started=_started(entry.get("startedDateTime")),
        time_s=max(float(entry.get("time") or 0), 0.0) / 1000,
        method=str(request["method"]),
        url=str(request["url"]),
        kind=kind,
        spec=spec,
        operation=operation,
        job_id=job,
        request_text=str((request.get("postData") or {}).get("text", "")),
        request_headers=_pairs(request.get("headers")),
        status=int(response["status"]),
        headers=_pairs(response.get("headers")),
        content=_content(response.get("content") or {}),
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def load_recording(directory: str | Path) -> Recording:
    """Every recording in a directory; ValueError naming the file and entry it cannot read."""
    routes = route_table()
    entries: list[Recorded] = []
    targets: list[str] = []
    download_hosts: set[str] = set()
    redacted: set[str] = set()
    for path, document in read_recordings(directory):
        notes = document["log"].get("_mixmock") or {}
        if notes.get("target"):
            targets.append(str(notes["target"]))
        download_hosts.update(str(host) for host in notes.get("download_hosts") or [])
        redacted.update(str(name) for name in notes.get("redacted") or [])
        for index, entry in enumerate(document["log"]["entries"]):
            try:
                recorded = _decode(path, index, entry, routes)
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(
                    f"recording {path.name}, entry {index}: not a HAR entry ({error!r})"
                ) from None
            if recorded is not None:
                entries.append(recorded)
    entries.sort(key=lambda recorded: recorded.started)
    operation_urls = [
        recorded.url for recorded in entries if recorded.operation and recorded.kind != "webhook"
    ]
    target = (
        targets[-1]
        if targets
        else (_origin(operation_urls[0]) if operation_urls else "http://target.invalid")
    )
    files = {
        recorded.url: recorded
        for recorded in entries
        if recorded.kind == "download" and recorded.status < 400
    }
    download_hosts.update(urlsplit(url).hostname or "" for url in files)
    plan = UrlPlan(
        target, HostAllowList.parse(sorted(host for host in download_hosts if host), "download host")
    )
    return Recording(plan, *_index(entries, redacted), files, frozenset(redacted), tuple(entries))


def _index(
    entries: Sequence[Recorded], redacted: set[str]
) -> tuple[dict[tuple[str, str], list[Recorded]], dict[tuple[str, str], Lifecycle]]:
    creates: defaultdict[tuple[str, str], list[Recorded]] = defaultdict(list)
    lifecycles: defaultdict[tuple[str, str], Lifecycle] = defaultdict(Lifecycle)
    for recorded in entries:
        if recorded.spec is None or recorded.operation is None:
            continue
        job = (recorded.spec, recorded.job_id) if recorded.job_id is not None else None
        if recorded.kind == "create":
            key = match_key(recorded.request_json, redacted)
            if key is not None:
                creates[(recorded.operation, key)].append(recorded)
            if job is not None and lifecycles[job].create is None:
                lifecycles[job].create = recorded
        elif recorded.kind == "fetch" and job is not None:
            lifecycles[job].fetches.append(recorded)
        elif recorded.kind == "webhook" and job is not None:
            lifecycles[job].webhooks.append(recorded)
    return dict(creates), dict(lifecycles)
