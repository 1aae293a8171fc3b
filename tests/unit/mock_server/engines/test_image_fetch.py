"""Safe fetching of request images: schemes, limits, address checks, redirects, decoding."""

from __future__ import annotations

import asyncio
import base64
import io
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx
import pytest
from PIL import Image

from mock_server.engines.base import EngineInputError
from mock_server.engines.image_fetch import FETCH_FAILED, MAX_SIDE, FetchPolicy, ImageFetcher, blocked_reason

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

PUBLIC = "93.184.216.34"
PNG_TYPE = {"content-type": "image/png"}


def png_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 64).save(buffer, format="PNG")
    return buffer.getvalue()


def resolver_for(table: Mapping[str, list[str]]) -> Callable[[str, int], object]:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    return resolve


def fetch(
    url: str,
    handler: Callable[[httpx.Request], httpx.Response] | None = None,
    *,
    dns: Mapping[str, list[str]] | None = None,
    policy: FetchPolicy | None = None,
) -> Image.Image:
    async def run() -> Image.Image:
        transport = httpx.MockTransport(handler or (lambda request: httpx.Response(500)))
        fetcher = ImageFetcher(
            policy,
            transport=transport,
            resolver=resolver_for(dns or {"img.example": [PUBLIC]}),  # type: ignore[arg-type]
        )
        try:
            return await fetcher.fetch("image", url)
        finally:
            await fetcher.aclose()

    return asyncio.run(run())


def serve_png(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=png_bytes(), headers={"content-type": "image/png"})


def test_fetches_and_decodes_an_http_image() -> None:
    image = fetch("https://img.example/a.png", serve_png)
    assert image.size == (8, 6)


def test_connection_is_pinned_to_the_checked_address_and_names_the_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return serve_png(request)

    fetch("https://img.example:8443/a.png?x=1", handler)
    assert seen[0].url.host == PUBLIC
    assert seen[0].url.port == 8443
    assert seen[0].url.query == b"x=1"
    assert seen[0].headers["host"] == "img.example:8443"
    assert seen[0].extensions["sni_hostname"] == "img.example"


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64," + base64.b64encode(png_bytes()).decode(),
        "data:;base64," + base64.b64encode(png_bytes()).decode(),
        "DATA:image/png;base64," + base64.b64encode(png_bytes()).decode(),
    ],
    ids=["png", "no-media-type", "upper-case-scheme"],
)
def test_data_uris_need_no_network(url: str) -> None:
    assert fetch(url).size == (8, 6)


def failure(
    url: str,
    handler: Callable[[httpx.Request], httpx.Response] | None = None,
    **kwargs: object,
) -> str:
    with pytest.raises(EngineInputError) as caught:
        fetch(url, handler, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == "image"
    assert caught.value.message.startswith(FETCH_FAILED)
    return caught.value.message


@pytest.mark.parametrize(
    ("url", "dns", "expected"),
    [
        ("http://127.0.0.1/a.png", {}, "loopback"),
        ("http://[::1]/a.png", {}, "loopback"),
        ("http://10.1.2.3/a.png", {}, "private"),
        ("http://169.254.169.254/latest/meta-data", {}, "link-local"),
        ("http://0.0.0.0/a.png", {}, "unspecified"),
        ("http://[::ffff:192.168.0.1]/a.png", {}, "private"),
        ("http://100.64.0.1/a.png", {}, "not globally routable"),
        ("http://internal.example/a.png", {"internal.example": ["192.168.1.5"]}, "private"),
        ("http://mixed.example/a.png", {"mixed.example": [PUBLIC, "127.0.0.1"]}, "loopback"),
    ],
    ids=[
        "ipv4-loopback",
        "ipv6-loopback",
        "rfc1918",
        "cloud-metadata",
        "unspecified",
        "ipv4-mapped",
        "cgnat",
        "name-to-private",
        "one-of-several-addresses",
    ],
)
def test_non_public_addresses_are_refused(url: str, dns: dict[str, list[str]], expected: str) -> None:
    def must_not_connect(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"connected to {request.url}")

    assert expected in failure(url, must_not_connect, dns=dns)


@pytest.mark.parametrize(
    ("allow", "url", "dns"),
    [
        (("127.0.0.0/8",), "http://127.0.0.1:9000/a.png", {}),
        (("assets.internal",), "http://assets.internal/a.png", {"assets.internal": ["10.0.0.7"]}),
        (("Assets.Internal.",), "http://assets.internal/a.png", {"assets.internal": ["10.0.0.7"]}),
    ],
    ids=["cidr", "host-name", "host-name-case-and-dot"],
)
def test_the_allow_list_opens_private_addresses(
    allow: tuple[str, ...], url: str, dns: dict[str, list[str]]
) -> None:
    assert fetch(url, serve_png, dns=dns, policy=FetchPolicy(allow_hosts=allow)).size == (8, 6)


@pytest.mark.parametrize("entry", ["", "10.0.0.0/33", "not a host"], ids=["empty", "bad-prefix", "space"])
def test_a_bad_allow_list_entry_is_a_configuration_error(entry: str) -> None:
    with pytest.raises(ValueError, match="allow_hosts"):
        FetchPolicy(allow_hosts=(entry,))


def test_redirects_are_rechecked_at_every_hop() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "http://127.0.0.1/secret.png"})

    assert "loopback" in failure("https://img.example/a.png", handler)


def test_redirects_to_public_hosts_are_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old.png":
            return httpx.Response(301, headers={"location": "/new.png"})
        return serve_png(request)

    assert fetch("https://img.example/old.png", handler).size == (8, 6)


def test_redirect_loops_stop() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "/again.png"})

    assert "more than 3 redirects" in failure("https://img.example/a.png", handler)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(404), "HTTP 404"),
        (httpx.Response(200, content=b"<html></html>", headers={"content-type": "text/html"}), "text/html"),
        (httpx.Response(200, content=b"not an image", headers=PNG_TYPE), "not a decodable"),
        (httpx.Response(200, content=png_bytes((64, 64))[:2000], headers=PNG_TYPE), "damaged"),
    ],
    ids=["not-found", "html", "not-an-image", "truncated"],
)
def test_bad_responses_are_refused(response: httpx.Response, expected: str) -> None:
    assert expected in failure("https://img.example/a.png", lambda request: response)


def test_oversize_bodies_are_refused_while_streaming() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(2):
                yield b"x" * 600

        return httpx.Response(200, content=chunks(), headers=PNG_TYPE)

    assert "larger than 1000 bytes" in failure(
        "https://img.example/a.png", handler, policy=FetchPolicy(max_bytes=1000)
    )


def test_an_announced_oversize_body_is_refused_before_reading() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 2000, headers={"content-type": "image/png"})

    policy = FetchPolicy(max_bytes=1000)
    assert "2000 announced" in failure("https://img.example/a.png", handler, policy=policy)


def test_oversize_data_uris_are_refused() -> None:
    url = "data:image/png;base64," + base64.b64encode(b"x" * 3000).decode()
    assert "larger than 1000 bytes" in failure(url, policy=FetchPolicy(max_bytes=1000))


def test_too_many_pixels_are_refused_before_decoding() -> None:
    url = "data:image/png;base64," + base64.b64encode(png_bytes((300, 300))).decode()
    assert "300x300" in failure(url, policy=FetchPolicy(max_pixels=10_000))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://img.example/a.png", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("img.example/a.png", "scheme '(none)'"),
        ("http:///a.png", "no host"),
        ("http://img.example:http/a.png", "port"),
        ("http://nowhere.example/a.png", "does not resolve"),
        ("data:text/plain,hello", "'text/plain' is not an image type"),
        ("data:image/png;base64,@@@", "does not decode"),
        ("data:image/png;base64", "needs a comma"),
    ],
    ids=[
        "ftp",
        "file",
        "no-scheme",
        "no-host",
        "bad-port",
        "unresolvable",
        "data-text",
        "data-bad-base64",
        "data-no-comma",
    ],
)
def test_unusable_urls_are_refused(url: str, expected: str) -> None:
    assert expected in failure(url)


def test_a_slow_server_times_out() -> None:
    async def run() -> None:
        async def slow(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(5)
            return serve_png(request)

        fetcher = ImageFetcher(
            FetchPolicy(timeout_s=0.05),
            transport=httpx.MockTransport(slow),
            resolver=resolver_for({"img.example": [PUBLIC]}),  # type: ignore[arg-type]
        )
        try:
            await fetcher.fetch("init_image[2]", "https://img.example/a.png")
        finally:
            await fetcher.aclose()

    with pytest.raises(EngineInputError, match=r"within 0\.05 s") as caught:
        asyncio.run(run())
    assert caught.value.field == "init_image[2]"


def test_the_message_names_the_field_and_shortens_long_urls() -> None:
    url = "data:text/plain," + "a" * 500
    with pytest.raises(EngineInputError) as caught:
        fetch(url)
    assert "(image: 'data:text/plain,aaaa" in caught.value.message
    assert len(caught.value.message) < 250


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("8.8.8.8", False),
        ("2606:4700::1111", False),
        ("192.168.0.1", True),
        ("fe80::1", True),
        ("fc00::1", True),
    ],
    ids=["public-v4", "public-v6", "private-v4", "link-local-v6", "unique-local-v6"],
)
def test_blocked_reason(address: str, blocked: bool) -> None:
    import ipaddress

    assert (blocked_reason(ipaddress.ip_address(address)) is not None) is blocked


def test_a_redirect_to_a_data_uri_is_the_vendors_fetch_failure() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "data:,x"})

    message = failure("https://img.example/a.png", handler)
    assert message.startswith(FETCH_FAILED + ": the server redirected to 'data:,x'")


def data_uri(size: tuple[int, int], mode: str = "L") -> str:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")  # one colour: a few KB for millions of pixels
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def fetch_all(fields: list[tuple[str, str]], fetcher: ImageFetcher | None = None) -> list[Image.Image]:
    async def run() -> list[Image.Image]:
        used = fetcher or ImageFetcher()
        try:
            return await used.fetch_all(fields)
        finally:
            await used.aclose()

    return asyncio.run(run())


def test_the_images_of_one_request_share_a_pixel_budget() -> None:
    """Four 4096 x 4096 images are 350 KB on the wire and 256 MiB decoded: refused before decoding."""
    url = data_uri((4096, 4096), "RGBA")
    fields = [(f"init_image[{index}]", url) for index in range(4)]
    with pytest.raises(EngineInputError) as refused:
        fetch_all(fields)
    assert refused.value.field == "init_image[1]"
    assert refused.value.message.startswith(FETCH_FAILED)
    assert "33554432 pixels" in refused.value.message
    assert len(fetch_all(fields[:1])) == 1  # one of them alone fits


def test_decoding_runs_off_the_event_loop_and_a_few_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    fetcher = ImageFetcher(FetchPolicy(max_decoding=2))
    threads: set[str] = set()
    running, most = 0, 0
    lock = threading.Lock()
    decode = fetcher._decode

    def watched(payload: bytes, prepare: Any = None) -> Image.Image:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            threads.add(threading.current_thread().name)
        time.sleep(0.02)
        with lock:
            running -= 1
        return decode(payload, prepare)

    monkeypatch.setattr(fetcher, "_decode", watched)

    async def six_requests() -> list[list[Image.Image]]:
        url = data_uri((64, 48))
        fields = [(f"init_image[{index}]", url) for index in range(4)]
        try:
            return await asyncio.gather(*(fetcher.fetch_all(fields) for _ in range(6)))
        finally:
            await fetcher.aclose()

    results = asyncio.run(six_requests())
    assert [len(images) for images in results] == [4] * 6
    assert most == 2
    assert threading.main_thread().name not in threads


def test_a_large_image_is_scaled_down_once_decoded() -> None:
    (image,) = fetch_all([("image", data_uri((4000, 1000), "RGBA"))])
    assert image.size == (MAX_SIDE, 512)
    assert image.mode == "RGBA"


def test_prepare_runs_on_each_decoded_image() -> None:
    images = fetch_all([("image", data_uri((40, 30), "RGBA"))], ImageFetcher())
    (prepared,) = asyncio.run(_prepared([("image", data_uri((40, 30), "RGBA"))]))
    assert images[0].mode == "RGBA"
    assert (prepared.mode, prepared.size) == ("RGB", (40, 30))


async def _prepared(fields: list[tuple[str, str]]) -> list[Image.Image]:
    fetcher = ImageFetcher()
    try:
        return await fetcher.fetch_all(fields, prepare=lambda image: image.convert("RGB"))
    finally:
        await fetcher.aclose()


def test_one_fetcher_serves_one_event_loop_after_another() -> None:
    """An engine outlives a loop in tests (asyncio.run per call): its gate must not belong to the first."""
    fetcher = ImageFetcher(FetchPolicy(max_decoding=1))
    fields = [(f"init_image[{index}]", data_uri((32, 32))) for index in range(3)]

    async def busy() -> int:
        done = await asyncio.gather(*(fetcher.fetch_all(fields) for _ in range(3)))
        return sum(len(images) for images in done)

    assert [asyncio.run(busy()) for _ in range(2)] == [9, 9]
    asyncio.run(fetcher.aclose())
