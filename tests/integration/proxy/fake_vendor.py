"""An independent fake vendor: a few routes answering the way the legacy captures of VENDOR-BEHAVIOUR.md
read (PHP-escaped slashes, `tip_1`, `messege` in a queued reply too, a float eta, `webhook_status`),
with its output files on a second host, as the vendor's are on a CDN. Not the mock: nothing shared."""

from __future__ import annotations

import itertools
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["PNG", "cdn_app", "vendor_app"]

# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc000000301"
    "0100637c3a9a0000000049454e44ae426082"
)
_TIP = "Get 20x faster image generation using enterprise plan. Click here : https://modelslab.com/enterprise"


def _php(body: dict[str, Any]) -> Response:
    """JSON as PHP's json_encode writes it: every `/` escaped."""
    return Response(
        json.dumps(body, separators=(",", ":")).replace("/", "\\/"), media_type="application/json"
    )


def vendor_app(cdn: str) -> Starlette:
    ids = itertools.count(65704373)
    polls: dict[str, int] = {}

    async def img_mixer(request: Request) -> Response:
        body = await request.json()
        if body.get("key") != "sk-fake-vendor-key-42":
            return _php(
                {
                    "status": "error",
                    "message": "Invalid Api Key",
                    "tip": "4. Make sure you have valid API key.",
                }
            )
        job = next(ids)
        polls[str(job)] = 0
        origin = f"{request.url.scheme}://{request.url.netloc}"
        return _php(
            {
                "status": "processing",
                "tip": _TIP,
                "tip_1": "Your image is processing in background, you can get this image using fetch API",
                "eta": 13.067986918399999,
                "messege": "Try to fetch request after seconds estimated",
                "fetch_result": f"{origin}/api/v6/image_editing/fetch/{job}",
                "id": job,
                "output": [],
                "future_links": [f"{cdn}/generations/{job}-0.png"],
                "meta": {"prompt": body.get("prompt"), "n_samples": 1, "H": 512, "W": 512, "outdir": "out"},
                "webhook_status": "",
            }
        )

    async def fetch(request: Request) -> Response:
        job = request.path_params["id"]
        if job not in polls:
            return _php(
                {"status": "failed", "id": "", "message": "Request not found", "output": "", "tip": _TIP}
            )
        polls[job] += 1
        if polls[job] < 2:
            return _php({"status": "processing", "messege": "try again later.", "output": "", "tip": _TIP})
        return _php(
            {
                "status": "success",
                "id": int(job),
                "output": [f"{cdn}/generations/{job}-0.png"],
                "webhook_status": "",
            }
        )

    return Starlette(
        routes=[
            Route("/api/v6/image_editing/img_mixer", img_mixer, methods=["POST"]),
            Route("/api/v6/image_editing/fetch/{id}", fetch, methods=["POST"]),
        ]
    )


def cdn_app() -> Starlette:
    async def image(request: Request) -> Response:
        return Response(PNG, media_type="image/png")

    return Starlette(routes=[Route("/generations/{name}", image, methods=["GET"])])
