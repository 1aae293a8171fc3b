"""Hostile targets on loopback: each answers the create call like the vendor, then misbehaves in one way.

- `Hostile(kind)` is a Starlette app: its create replies are valid and point at an image on its own
  origin, which is dripped, endless, a 20000 x 20000 PNG, a gzip bomb, or a redirect to another origin;
  or its create replies are JSON nested 100000 deep.
- `dripping_server()` answers every request one byte at a time, headers included.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import struct
import threading
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

KEY = "hostile-key"
KINDS = ("drip_image", "endless_image", "huge_png", "gzip_bomb", "redirect_off_origin", "deep_json")


@functools.cache
def huge_png(width: int = 20000, height: int = 20000) -> bytes:
    """A valid 1-bit greyscale PNG of width x height: a few hundred kB that would decode to gigabytes."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + bytes((width + 7) // 8)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


@functools.cache
def gzip_bomb() -> bytes:
    """100 MiB of zeros, gzipped to about 100 kB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    return b"".join(compressor.compress(block) for _ in range(100)) + compressor.flush()


class Hostile:
    def __init__(self, kind: str, other_origin: str = "http://127.0.0.2:9") -> None:
        self.kind = kind
        self.other_origin = other_origin
        self.images_served = 0

    def app(self) -> Starlette:
        routes = [
            Route("/api/v6/image_editing/img_mixer", self._create, methods=["POST"]),
            Route("/generations/{name}", self._image, methods=["GET"]),
        ]
        return Starlette(routes=routes)

    async def _create(self, request: Request) -> Response:
        body: Any = await request.json()
        if self.kind == "deep_json":
            return Response(b"[" * 100000 + b"]" * 100000, media_type="application/json")
        origin = str(request.base_url).rstrip("/")
        meta = {"W": body.get("width"), "H": body.get("height"), "prompt": body.get("prompt")}
        meta.update({"seed": body.get("seed"), "steps": body.get("steps"), "n_samples": body.get("samples")})
        meta.update(
            {"guidance_scale": body.get("guidance_scale"), "negative_prompt": body.get("negative_prompt")}
        )
        meta["init_image"] = ",".join(body.get("init_image", []))
        meta = {name: value for name, value in meta.items() if value is not None}
        output = [f"{origin}/generations/{uuid.uuid4()}-0.png"]
        return JSONResponse(
            {"status": "success", "generationTime": 1.0, "id": 1, "output": output, "meta": meta}
        )

    async def _image(self, request: Request) -> Response:
        self.images_served += 1
        if self.kind == "drip_image":
            return StreamingResponse(self._drip(), media_type="image/png")
        if self.kind == "endless_image":
            return StreamingResponse(self._endless(), media_type="image/png")
        if self.kind == "huge_png":
            return Response(huge_png(), media_type="image/png")
        if self.kind == "gzip_bomb":
            return Response(gzip_bomb(), media_type="image/png", headers={"Content-Encoding": "gzip"})
        return RedirectResponse(f"{self.other_origin}/stolen.png", status_code=302)

    @staticmethod
    async def _drip() -> AsyncIterator[bytes]:
        for byte in b"\x89PNG\r\n\x1a\n":
            yield bytes([byte])
            await asyncio.sleep(10)

    @staticmethod
    async def _endless() -> AsyncIterator[bytes]:
        block = bytes(256 * 1024)
        while True:
            yield block
            await asyncio.sleep(0)


@contextlib.contextmanager
def dripping_server(interval: float = 10.0) -> Iterator[str]:
    """A server that accepts, reads the request, then sends its reply one byte every `interval` s."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve(connection: socket.socket) -> None:
        with connection:
            connection.settimeout(1.0)
            with contextlib.suppress(OSError):
                connection.recv(65536)
                for (
                    byte
                ) in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}":
                    connection.sendall(bytes([byte]))
                    if stop.wait(interval):
                        return

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
