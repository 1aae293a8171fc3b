"""Broken servers: the real mock wrapped in a small ASGI middleware that injects exactly one defect."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import Image
from starlette.types import ASGIApp, Message, Receive, Scope, Send

RequestRewrite = Callable[[str, Any], Any]  # (path, parsed JSON body) -> body to pass on
ReplyRewrite = Callable[[str, int, str, bytes], tuple[int, str, bytes]]  # (path, status, type, body)

KEY = "test-key"


class Defect:
    """Rewrites requests on the way in and/or replies on the way out."""

    def __init__(
        self, app: ASGIApp, request: RequestRewrite | None = None, reply: ReplyRewrite | None = None
    ):
        self.app, self.request, self.reply = app, request, reply

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if self.request is not None:
            receive = await self._rewritten_receive(path, receive)
        if self.reply is not None:
            send = self._buffered_send(path, send)
        await self.app(scope, receive, send)

    async def _rewritten_receive(self, path: str, receive: Receive) -> Receive:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        with contextlib.suppress(ValueError):  # not JSON: passed on untouched
            raw = json.dumps(self.request(path, json.loads(raw))).encode() if self.request else raw
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}

        return replay

    def _buffered_send(self, path: str, send: Send) -> Send:
        start: Message = {}
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
            rewrite = self.reply or (lambda *args: args[1:])
            status, media_type, body = rewrite(
                path, start["status"], headers.get("content-type", ""), b"".join(chunks)
            )
            out = [
                (k.encode(), v.encode())
                for k, v in headers.items()
                if k not in {"content-length", "content-type"}
            ]
            out += [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": out})
            await send({"type": "http.response.body", "body": body})

        return buffered


def json_reply(edit: Callable[[str, dict[str, Any]], dict[str, Any]]) -> ReplyRewrite:
    """A reply rewrite that edits JSON object bodies and leaves everything else alone."""

    def rewrite(path: str, status: int, media_type: str, body: bytes) -> tuple[int, str, bytes]:
        if "json" not in media_type:
            return status, media_type, body
        data = json.loads(body)
        if isinstance(data, dict):
            data = edit(path, data)
        return status, media_type, json.dumps(data).encode()

    return rewrite


def tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (0, 0, 0)).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class DefectCase:
    name: str
    tier: str
    operations: tuple[str, ...]
    expected: str  # the finding key that must appear
    request: RequestRewrite | None = None
    reply: ReplyRewrite | None = None


def _when(path_part: str, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[str, Any], Any]:
    def rewrite(path: str, body: Any) -> Any:
        return edit(body) if path_part in path and isinstance(body, dict) else body

    return rewrite


def _status(path_part: str, status: str, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> ReplyRewrite:
    return json_reply(
        lambda path, body: edit(body) if path_part in path and body.get("status") == status else body
    )


def _clamp(name: str, limit: float) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def edit(body: dict[str, Any]) -> dict[str, Any]:
        value = body.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > limit:
            return {**body, name: limit}
        return body

    return edit


class _Samples0Crash:
    """Answers 500 (text) when img_mixer is sent samples 0, as a crashing backend would."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/img_mixer"):
            message = await receive()
            raw = message.get("body", b"")
            try:
                crash = json.loads(raw).get("samples") == 0
            except (ValueError, AttributeError):
                crash = False
            if crash:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"text/plain")],
                    }
                )
                await send({"type": "http.response.body", "body": b"Internal Server Error"})
                return
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}

            await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)


def _swap_png(path: str, status: int, media_type: str, body: bytes) -> tuple[int, str, bytes]:
    return (status, media_type, tiny_png()) if media_type.startswith("image/") else (status, media_type, body)


def _always_processing(path: str, body: dict[str, Any]) -> dict[str, Any]:
    if "/fetch/" in path and body.get("status") == "success":
        return {"status": "processing", "message": "try again later.", "output": ""}
    return body


def _broken_fetch_result(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "fetch_result": str(body["fetch_result"]).replace("/fetch/", "/fetch-gone/")}


def _other_future(body: dict[str, Any]) -> dict[str, Any]:
    return {
        **body,
        "future_links": [str(link).replace(".png", "-other.png") for link in body["future_links"]],
    }


DEFECTS: tuple[DefectCase, ...] = (
    DefectCase(
        "guidance_scale_not_enforced",
        "ranges",
        ("img_mixer",),
        "img_mixer guidance_scale: maximum 20",
        request=_when("/img_mixer", _clamp("guidance_scale", 20)),
    ),
    DefectCase(
        "steps_off_by_one",
        "ranges",
        ("magic_mix_enterprise",),
        "magic_mix_enterprise steps: maximum 50",
        request=_when("/magic_mix", _clamp("steps", 50)),
    ),
    DefectCase(
        "cross_field_rule_not_enforced",
        "ranges",
        ("magic_mix_v5",),
        "magic_mix_v5 kmax,steps: rule layout-phase-runs",
        request=_when("/magic_mix", lambda b: {**b, "kmax": 0.05} if b.get("kmax") == 0.04 else b),
    ),
    DefectCase(
        "key_not_checked",
        "ranges",
        ("img_mixer",),
        "img_mixer key: valid key",
        request=_when("/img_mixer", lambda b: {**b, "key": KEY}),
    ),
    DefectCase("server_error_on_samples_0", "ranges", ("img_mixer",), "img_mixer reply: not a server error"),
    DefectCase(
        "reply_id_wrong_type",
        "smoke",
        ("img_mixer",),
        "img_mixer reply.id: success branch type integer",
        reply=_status("/img_mixer", "success", lambda b: {**b, "id": str(b["id"])}),
    ),
    DefectCase(
        "reply_missing_output",
        "smoke",
        ("magic_mix_v5",),
        "magic_mix_v5 reply.output: success branch required",
        reply=_status("/magic_mix", "success", lambda b: {k: v for k, v in b.items() if k != "output"}),
    ),
    DefectCase(
        "wrong_status_value",
        "smoke",
        ("magic_mix_enterprise",),
        "magic_mix_enterprise reply.status: enum success|processing|error|failed",
        reply=_status("/magic_mix", "success", lambda b: {**b, "status": "succeeded"}),
    ),
    DefectCase(
        "images_of_wrong_size",
        "smoke",
        ("img_mixer",),
        "img_mixer reply.output: images have the requested size",
        reply=_swap_png,
    ),
    DefectCase(
        "meta_not_echoing",
        "smoke",
        ("img_mixer",),
        "img_mixer reply.meta.W: echoes width",
        reply=_status(
            "/img_mixer", "success", lambda b: {**b, "meta": {**b["meta"], "W": b["meta"]["W"] + 8}}
        ),
    ),
    DefectCase(
        "job_never_completes",
        "stateful",
        ("img_mixer", "fetch_v6"),
        "img_mixer job: reaches success or failed within 1s",
        reply=json_reply(_always_processing),
    ),
    DefectCase(
        "fetch_result_404",
        "stateful",
        ("img_mixer", "fetch_v6"),
        "img_mixer reply.fetch_result: answers like the fetch operation",
        reply=_status("/img_mixer", "processing", _broken_fetch_result),
    ),
    DefectCase(
        "future_links_differ",
        "stateful",
        ("magic_mix_enterprise", "fetch_enterprise"),
        "magic_mix_enterprise reply.future_links: equal the finished job's output",
        reply=_status("/magic_mix", "processing", _other_future),
    ),
    DefectCase(
        "fetch_key_not_checked",
        "stateful",
        ("img_mixer", "fetch_v6"),
        "fetch_v6 key: valid key",
        request=_when("/fetch/", lambda b: {**b, "key": KEY}),
    ),
    DefectCase(
        "replies_not_json",
        "smoke",
        ("fetch_v6",),
        "fetch_v6 reply: content type application/json",
        reply=lambda path, status, media_type, body: (
            status,
            "text/html" if "/fetch/" in path else media_type,
            body,
        ),
    ),
)


def wrap(app: ASGIApp, defect: DefectCase) -> ASGIApp:
    if defect.name == "server_error_on_samples_0":
        return _Samples0Crash(app)
    return Defect(app, defect.request, defect.reply)
