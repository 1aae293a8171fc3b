"""A small, conformant Starlette clone of the vendor API, for testing the audit itself.

It knows nothing of the audit: it validates with the specs' request schemas, answers in the vendor's
envelope, keeps jobs in memory, serves PNGs of the requested size and posts webhooks.
"""

from __future__ import annotations

import io
import itertools
import json
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
from jsonschema import Draft202012Validator, FormatChecker
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from openapi.operations import Operation, load_operations
from openapi.rules import cross_field_violations

KEY = "toy-key"
_META = {"width": "W", "height": "H", "samples": "n_samples"}


def _meta(body: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"file_prefix": prefix, "outdir": "out"}
    for name, value in body.items():
        if name in {"key", "webhook", "track_id"}:
            continue
        meta[_META.get(name, name)] = ",".join(value) if name == "init_image" else value
    return meta


class Toy:
    def __init__(self, polls: int = 1, webhook_drop: tuple[str, ...] = ()) -> None:
        self.polls = polls
        self.webhook_drop = webhook_drop  # payload fields left out: a deliberately broken webhook
        self.jobs: dict[int, dict[str, Any]] = {}
        self.ids = itertools.count(1)

    def app(self) -> Starlette:
        routes = [Route("/img/{size}/{name}", self.image, methods=["GET"])]
        operations = load_operations()
        creates = {op.link.operation_id: op for op in operations if op.link is not None}
        for op in operations:
            if op.kind == "create":
                routes.append(Route(op.url_path(), self._create(op), methods=["POST"]))
            else:
                routes.append(Route(op.url_path(), self._fetch(creates[op.operation_id]), methods=["POST"]))
        return Starlette(routes=routes)

    async def image(self, request: Request) -> Response:
        width, height = (int(part) for part in request.path_params["size"].split("x"))
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), (120, 30, 200)).save(buffer, format="PNG")
        return Response(buffer.getvalue(), media_type="image/png")

    def _create(self, op: Operation) -> Any:
        validator = Draft202012Validator(op.request_schema, format_checker=FormatChecker())

        async def create(request: Request) -> Response:
            try:
                body = await request.json()
            except ValueError:
                return JSONResponse({"status": "error", "message": "Invalid API Request"})
            if not isinstance(body, dict) or body.get("key") != KEY:
                return JSONResponse({"status": "error", "message": "Invalid Api Key"})
            try:
                json.dumps(body).encode("utf-8")
            except UnicodeEncodeError:
                return JSONResponse({"status": "error", "message": "Invalid API Request"})
            errors = [e.message for e in validator.iter_errors(body)]
            errors += [rule.message for rule in cross_field_violations(op.request_schema, body)]
            if errors:
                return JSONResponse({"status": "error", "message": errors[0]})
            return JSONResponse(await self._accept(op, request, body))

        return create

    async def _accept(self, op: Operation, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        job_id, prefix = next(self.ids), str(uuid.uuid4())
        width, height = body.get("width", 768), body.get("height", 768)
        origin = str(request.base_url).rstrip("/")
        links = [
            f"{origin}/img/{width}x{height}/{prefix}-{i}.png" for i in range(int(body.get("samples", 1)))
        ]
        meta = _meta(body, prefix)
        processing = "scenario=processing" in request.headers.get("prefer", "")
        job = {
            "id": job_id,
            "output": links,
            "polls": self.polls if processing else 0,
            "body": body,
            "meta": meta,
        }
        self.jobs[job_id] = job
        if not processing:
            await self._deliver(job)
            return {"status": "success", "generationTime": 1.5, "id": job_id, "output": links, "meta": meta}
        fetch = op.link.operation_id if op.link else ""
        fetch_op = next(o for o in load_operations([op.spec]) if o.operation_id == fetch)
        return {
            "status": "processing",
            "tip": "queued",
            "eta": 1,
            "message": "Try to fetch request after seconds",
            "fetch_result": origin + fetch_op.url_path({"id": str(job_id)}),
            "id": job_id,
            "output": [],
            "future_links": links,
            "meta": meta,
        }

    async def _deliver(self, job: dict[str, Any]) -> None:
        webhook = job["body"].get("webhook")
        if webhook:
            payload = {
                "status": "success",
                "id": job["id"],
                "output": job["output"],
                "meta": job["meta"],
                "track_id": job["body"].get("track_id"),
            }
            payload = {name: value for name, value in payload.items() if name not in self.webhook_drop}
            async with httpx.AsyncClient() as client:
                await client.post(webhook, json=payload)

    def _fetch(self, create: Operation) -> Any:
        async def fetch(request: Request) -> Response:
            body = await request.json()
            if not isinstance(body, dict) or body.get("key") != KEY:
                return JSONResponse({"status": "error", "message": "Invalid Api Key"})
            raw = request.path_params["id"]
            job = self.jobs.get(int(raw)) if raw.isdigit() else None
            if job is None:
                return JSONResponse(
                    {"status": "failed", "id": "", "message": "Request not found", "output": ""}
                )
            if job["polls"] > 0:
                job["polls"] -= 1
                if job["polls"] == 0:
                    await self._deliver(job)
                return JSONResponse({"status": "processing", "message": "try again later.", "output": ""})
            return JSONResponse({"status": "success", "id": job["id"], "output": job["output"]})

        return fetch
