"""Recordings written entry by entry, with the timings a test needs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mock_server.proxy.har import Exchange, HarWriter, har_entry
from mock_server.proxy.redaction import Redactor

T0 = 1_800_000_000.0
VENDOR = "https://modelslab.com"
FETCH = "/api/v6/image_editing/fetch/"


@dataclass
class Tape:
    """A recording under construction: `create`, `fetch`, `webhook`, `download`, then `save`."""

    notes: dict[str, Any] = field(
        default_factory=lambda: {"target": VENDOR, "download_hosts": ["*.r2.dev"], "redacted": ["key"]}
    )
    entries: list[dict[str, Any]] = field(default_factory=list)
    redactor: Redactor = field(default_factory=Redactor)

    def _add(
        self,
        at: float,
        method: str,
        url: str,
        sent: Any,
        status: int,
        reply: bytes,
        mime: str,
        notes: dict[str, Any],
        took: float,
    ) -> None:
        body = json.dumps(sent).encode() if sent is not None else None
        exchange = Exchange(
            T0 + at,
            method,
            url,
            [("content-type", "application/json")],
            body,
            status,
            "OK",
            [("content-type", mime), ("x-vendor", "yes")],
            reply,
            wait_s=took,
            request_json=sent,
            notes=notes,
        )
        self.entries.append(har_entry(exchange, self.redactor))

    def create(
        self,
        at: float,
        body: dict[str, Any],
        reply: dict[str, Any],
        took: float = 0.5,
        operation: str = "img_mixer",
    ) -> None:
        notes = {
            "kind": "create",
            "spec": "v6",
            "operation": operation,
            "job_id": str(reply.get("id")) if "id" in reply else None,
            "answered_by": "target",
        }
        path = "/api/v6/image_editing/" + operation
        self._add(
            at,
            "POST",
            VENDOR + path,
            body,
            200,
            json.dumps(reply).replace("/", "\\/").encode(),
            "application/json",
            notes,
            took,
        )

    def fetch(self, at: float, job: int, reply: dict[str, Any], took: float = 0.1) -> None:
        notes = {
            "kind": "fetch",
            "spec": "v6",
            "operation": "fetch_v6",
            "job_id": str(job),
            "answered_by": "target",
        }
        self._add(
            at,
            "POST",
            f"{VENDOR}{FETCH}{job}",
            {"key": "k"},
            200,
            json.dumps(reply).encode(),
            "application/json",
            notes,
            took,
        )

    def webhook(self, at: float, payload: dict[str, Any]) -> None:
        notes = {
            "kind": "webhook",
            "spec": "v6",
            "operation": "img_mixer",
            "job_id": str(payload["id"]),
            "answered_by": "proxy",
        }
        self._add(
            at, "POST", "http://127.0.0.1:9/old-hook", payload, 200, b"{}", "application/json", notes, 0.0
        )

    def download(self, at: float, url: str, content: bytes) -> None:
        self._add(
            at,
            "GET",
            url,
            None,
            200,
            content,
            "image/png",
            {"kind": "download", "answered_by": "target"},
            0.05,
        )

    def save(self, folder: Path, name: str = "a.har") -> Path:
        writer = HarWriter(folder / name, self.notes, 1 << 30)
        for entry in self.entries:
            writer.append(entry)
        return folder


def processing(job: int) -> dict[str, Any]:
    return {
        "status": "processing",
        "eta": 3,
        "id": job,
        "fetch_result": f"{VENDOR}{FETCH}{job}",
        "output": [],
        "future_links": [f"https://pub-1.r2.dev/generations/{job}-0.png"],
        "tip": "t",
        "message": "m",
    }


def fetched(status: str, job: int) -> dict[str, Any]:
    if status == "success":
        return {"status": "success", "id": job, "output": [f"https://pub-1.r2.dev/generations/{job}-0.png"]}
    return {"status": "processing", "messege": "try again later.", "output": ""}
