"""Fetching the images a request names (`http(s)://` or `data:`), safely, for an eager engine.

A request's image URL is untrusted input that the server will dereference, so every fetch is bounded
(size, time, pixels, redirects) and may only reach public addresses: the host name is resolved, every
address it resolves to is checked, and the connection is pinned to a checked address so the name
cannot be re-resolved elsewhere in between (DNS rebinding). Redirects are followed by hand, each hop
checked the same way. Any failure is an `EngineInputError` worded like the vendor's reply.

Decoding is where a small upload becomes a large memory bill (a 90 KB PNG can hold 4096 x 4096 RGBA
pixels: 64 MiB decoded). So the pixels of all a request's images together are bounded before any is
decoded (`max_request_pixels`, read from their headers), decoding runs in a worker thread, never on the
event loop, at most `max_decoding` images at a time per fetcher (`image_work`, which the engine also
holds while it turns images into a plan), and a decoded image larger than MAX_SIDE on a side is scaled
down at once (no engine output needs more), then prepared (to RGB, say) in the same thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import ipaddress
import socket
import warnings
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

import httpx
from PIL import Image, ImageOps, UnidentifiedImageError

from mock_server.engines.base import EngineInputError
from mock_server.outbound import Redirected, outbound_client
from mock_server.parsing import HostAllowList

__all__ = [
    "FETCH_FAILED",
    "MAX_SIDE",
    "FetchPolicy",
    "ImageFetcher",
    "Resolver",
    "blocked_reason",
    "system_resolver",
]

FETCH_FAILED = "Unable to fetch image from provided URL"
MAX_SIDE = 2048  # a decoded image is scaled down to this on its longer side (the engine makes <= 2048)
_SCALABLE = ("RGB", "RGBA", "L", "LA")  # modes scaled down as they are (others keep their size)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Host name and port to the IP addresses (as strings) a connection could reach."""

_ACCEPTED_TYPES = ("image/", "application/octet-stream", "binary/octet-stream")
T = TypeVar("T")
Prepare = Callable[[Image.Image], Image.Image]
_UNDECODABLE = (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError)
_SHOWN = 80  # characters of a URL repeated in an error message (data: URIs are long)


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch; `allow_hosts` lists host names or CIDRs exempt from the address check."""

    max_bytes: int = 10 * 1024 * 1024
    timeout_s: float = 20.0
    max_pixels: int = 4096 * 4096  # one image
    max_request_pixels: int = 4096 * 4096  # all the images of one request together
    max_decoding: int = 2  # images decoded at the same time, per fetcher (one fetcher per engine)
    max_redirects: int = 3
    allow_hosts: tuple[str, ...] = ()
    _hosts: HostAllowList = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_request_pixels", "max_decoding"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s!r}")
        if self.max_redirects < 0:
            raise ValueError(f"max_redirects must be 0 or more, got {self.max_redirects!r}")
        object.__setattr__(self, "_hosts", HostAllowList.parse(self.allow_hosts, "allow_hosts entry"))

    def host_allowed(self, host: str) -> bool:
        return self._hosts.allows_name(host)

    def address_allowed(self, address: IPAddress) -> bool:
        return self._hosts.allows_address(address)


def blocked_reason(address: IPAddress) -> str | None:
    """Why a fetch must not connect to `address`, or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for attribute in ("is_loopback", "is_link_local", "is_multicast", "is_unspecified", "is_reserved"):
        if getattr(address, attribute):
            return f"the address {address} is {attribute.removeprefix('is_').replace('_', '-')}"
    if address.is_private:
        return f"the address {address} is private"
    if not address.is_global:
        return f"the address {address} is not globally routable"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class _RefusedError(Exception):
    """A fetch step failed; carries the reason for the message."""


class ImageFetcher:
    """Fetches and decodes images under a `FetchPolicy`; one instance serves many requests."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self._resolve = resolver or system_resolver
        # No proxy from the environment: it would make the address check meaningless.
        self._client = outbound_client(transport)
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def image_work(self) -> asyncio.Semaphore:
        """Decoded images at work at once: held while decoding here, and by the engine while it builds
        a plan. One per event loop (a server has one; a semaphore belongs to the loop it waits in)."""
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.policy.max_decoding)
        return gate

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, field_name: str, url: str) -> Image.Image:
        """The decoded image at `url`; raises EngineInputError naming `field_name` and the reason."""
        (image,) = await self.fetch_all([(field_name, url)])
        return image

    async def fetch_all(
        self, fields: Sequence[tuple[str, str]], prepare: Prepare | None = None
    ) -> list[Image.Image]:
        """The decoded images of one request, (field, URL) each, fetched together, decoded one at a time
        once their headers show that all of them fit in `max_request_pixels`; `prepare` (to RGB...)
        runs on each in the decoding thread, so only what it returns is kept."""
        payloads = await asyncio.gather(
            *(self._guarded(name, url, self._payload(url)) for name, url in fields)
        )
        total = 0
        for (name, url), payload in zip(fields, payloads, strict=True):
            width, height = await self._guarded(name, url, asyncio.to_thread(self._size, payload))
            total += width * height
            if total > self.policy.max_request_pixels:
                limit = self.policy.max_request_pixels
                why = f"the images up to {name} have {total} pixels together, more than {limit} per request"
                raise self._failure(name, url, why)
        images = []
        for (name, url), payload in zip(fields, payloads, strict=True):
            async with self.image_work:  # bounds the decoded bytes of every request of this process
                decoding = asyncio.to_thread(self._decode, payload, prepare)
                images.append(await self._guarded(name, url, decoding))
        return images

    async def _guarded(self, field_name: str, url: str, step: Awaitable[T]) -> T:
        """`step`, with a refusal or a timeout turned into the EngineInputError naming the field."""
        try:
            async with asyncio.timeout(self.policy.timeout_s):
                return await step
        except _RefusedError as refused:
            reason = str(refused)
        except TimeoutError:
            reason = f"no complete answer within {self.policy.timeout_s:g} s"
        raise self._failure(field_name, url, reason)

    def _failure(self, field_name: str, url: str, reason: str) -> EngineInputError:
        shown = url if len(url) <= _SHOWN else url[:_SHOWN] + "..."
        return EngineInputError(field_name, f"{FETCH_FAILED}: {reason} ({field_name}: {shown!r})")

    async def _payload(self, url: str) -> bytes:
        if url[:5].lower() == "data:":
            return self._data_uri(url)
        current = url
        for _ in range(self.policy.max_redirects + 1):
            response_or_next = await self._get(current)
            if isinstance(response_or_next, bytes):
                return response_or_next
            if urlsplit(response_or_next).scheme.lower() not in ("http", "https"):
                shown = response_or_next[:_SHOWN]
                raise _RefusedError(f"the server redirected to {shown!r}, which is not an http(s) URL")
            current = response_or_next
        raise _RefusedError(f"more than {self.policy.max_redirects} redirects")

    def _data_uri(self, url: str) -> bytes:
        header, comma, data = url[5:].partition(",")
        if not comma:
            raise _RefusedError("a data: URI needs a comma before its data")
        media_type, *options = header.split(";")
        if media_type and not media_type.lower().startswith(_ACCEPTED_TYPES):
            raise _RefusedError(f"the data: URI's media type {media_type!r} is not an image type")
        if len(data) > self.policy.max_bytes * 4 // 3 + 4:
            raise _RefusedError(f"the image is larger than {self.policy.max_bytes} bytes")
        try:
            if "base64" in (option.lower() for option in options):
                text = "".join(unquote_to_bytes(data).decode("ascii").split())
                payload = base64.b64decode(text, validate=True)
            else:
                payload = unquote_to_bytes(data)
        except (binascii.Error, UnicodeDecodeError) as error:
            raise _RefusedError(f"the data: URI's base64 data does not decode ({error})") from None
        if len(payload) > self.policy.max_bytes:
            raise _RefusedError(f"the image is larger than {self.policy.max_bytes} bytes")
        return payload

    async def _get(self, url: str) -> bytes | str:
        """The body at `url`, or the URL a redirect points to."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise _RefusedError(f"the scheme {scheme or '(none)'!r} is not supported (http, https or data)")
        try:
            host, port = parts.hostname, parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise _RefusedError("the URL's port is not a number") from None
        if not host:
            raise _RefusedError("the URL has no host")
        address = await self._checked_address(host, port)
        try:
            request = self._pinned_request(httpx.URL(url), address, host)
        except httpx.InvalidURL as error:
            raise _RefusedError(f"the URL is not valid ({error})") from None
        try:
            response = await self._client.send(request, stream=True)
        except Redirected as redirect:
            return urljoin(url, redirect.location)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise _RefusedError(f"the connection failed ({type(error).__name__}: {error})") from None
        try:
            if response.status_code != 200:
                raise _RefusedError(f"the server answered HTTP {response.status_code}")
            self._check_headers(response)
            return await self._read_capped(response)
        finally:
            await response.aclose()

    async def _checked_address(self, host: str, port: int) -> str:
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = await self._resolve(host, port)
            except OSError as error:
                raise _RefusedError(f"the host {host!r} does not resolve ({error})") from None
            if not addresses:
                raise _RefusedError(f"the host {host!r} does not resolve")
        if self.policy.host_allowed(host):
            return addresses[0]
        for text in addresses:
            address = ipaddress.ip_address(text)
            reason = blocked_reason(address)
            if reason is not None and not self.policy.address_allowed(address):
                raise _RefusedError(f"{reason} (host {host!r}) and not in the allow-list")
        return addresses[0]

    def _pinned_request(self, url: httpx.URL, address: str, host: str) -> httpx.Request:
        """A request for `url` that connects to `address` while naming `host` (Host header, TLS SNI)."""
        authority = url.netloc.decode("ascii")
        extensions = {"sni_hostname": host} if url.scheme == "https" else {}
        return self._client.build_request(
            "GET",
            url.copy_with(host=address),
            headers={"Host": authority, "Accept": "image/*"},
            extensions=extensions,
        )

    def _check_headers(self, response: httpx.Response) -> None:
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and not content_type.startswith(_ACCEPTED_TYPES):
            raise _RefusedError(f"the content type {content_type!r} is not an image type")
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.policy.max_bytes:
            limit = self.policy.max_bytes
            raise _RefusedError(f"the image is larger than {limit} bytes ({length} announced)")

    async def _read_capped(self, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.policy.max_bytes:
                    raise _RefusedError(f"the image is larger than {self.policy.max_bytes} bytes")
                chunks.append(chunk)
        except httpx.HTTPError as error:
            raise _RefusedError(f"the transfer failed ({type(error).__name__}: {error})") from None
        return b"".join(chunks)

    def _open(self, payload: bytes) -> Image.Image:
        """The image's header read (nothing decoded yet); refused past `max_pixels`. In a worker thread."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(payload))
        except _UNDECODABLE as error:
            raise _RefusedError(f"the content is not a decodable image ({type(error).__name__})") from None
        except (OSError, SyntaxError, ValueError) as error:
            raise _RefusedError(f"the image data is damaged ({error})") from None
        width, height = image.size
        if width * height > self.policy.max_pixels:
            raise _RefusedError(f"the image has {width}x{height} pixels, more than {self.policy.max_pixels}")
        return image

    def _size(self, payload: bytes) -> tuple[int, int]:
        with self._open(payload) as image:
            return image.size

    def _decode(self, payload: bytes, prepare: Prepare | None = None) -> Image.Image:
        """The decoded image, upright (EXIF), at most MAX_SIDE on a side, prepared. In a worker thread."""
        image = self._open(payload)
        try:
            image.draft(image.mode, (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale
            image.load()
            ImageOps.exif_transpose(image, in_place=True)
        except (OSError, SyntaxError, ValueError) as error:
            raise _RefusedError(f"the image data is damaged ({error})") from None
        if max(image.size) > MAX_SIDE and image.mode in _SCALABLE:
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        return image if prepare is None else prepare(image)
