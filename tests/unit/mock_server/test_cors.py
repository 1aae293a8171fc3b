"""CORS: preflights answered for allowed origins, a problem naming the flag for others, the mock's headers
exposed, and the admin API closed to browsers unless its own origins are configured."""

from __future__ import annotations

import pytest

from mock_server.cors import origin_problem
from mock_server.settings import Settings, SettingsError, load_settings
from tests.conftest import ClientFactory
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

PAGE = "http://localhost:5173"
IMG_MIXER = CREATE_PATHS["img_mixer"]


def preflight(origin: str, method: str = "POST", headers: str = "content-type, prefer") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


def test_a_preflight_from_an_allowed_origin_is_answered(mock_client: ClientFactory) -> None:
    with mock_client(cors_origins=(PAGE,)) as client:
        reply = client.options(IMG_MIXER, headers=preflight(PAGE))
    assert reply.status_code == 204
    assert reply.headers["access-control-allow-origin"] == PAGE
    assert "POST" in reply.headers["access-control-allow-methods"]
    assert reply.headers["access-control-allow-headers"] == "content-type, prefer"
    assert "Origin" in reply.headers["vary"]
    assert int(reply.headers["access-control-max-age"]) > 0


@pytest.mark.parametrize(
    ("configured", "flag"),
    [((), "--cors-origin"), (("http://other.example",), "--cors-origin")],
    ids=["closed", "another-origin"],
)
def test_a_preflight_from_any_other_origin_gets_a_problem_naming_the_flag(
    mock_client: ClientFactory, configured: tuple[str, ...], flag: str
) -> None:
    with mock_client(cors_origins=configured) as client:
        reply = client.options(IMG_MIXER, headers=preflight(PAGE))
    assert reply.status_code == 403
    assert reply.headers["content-type"] == "application/problem+json"
    assert "access-control-allow-origin" not in reply.headers
    detail = reply.json()["detail"]
    assert PAGE in detail
    assert flag in detail


def test_a_reply_to_an_allowed_origin_exposes_the_mocks_headers(mock_client: ClientFactory) -> None:
    with mock_client(cors_origins=(PAGE,)) as client:
        reply = client.post(IMG_MIXER, json=valid_body("img_mixer", steps=99), headers={"Origin": PAGE})
    assert reply.headers["access-control-allow-origin"] == PAGE
    exposed = {name.strip().lower() for name in reply.headers["access-control-expose-headers"].split(",")}
    assert {"x-mixmock-example", "x-mixmock-request-violations"} <= exposed
    assert "content-type" not in exposed  # a browser reads the safelisted ones anyway
    assert reply.headers["vary"] == "Origin"


def test_the_wildcard_allows_every_origin(mock_client: ClientFactory) -> None:
    with mock_client(cors_origins=("*",)) as client:
        answered = client.options(IMG_MIXER, headers=preflight("https://anything.example"))
        image_reply = client.post(IMG_MIXER, json=valid_body("img_mixer"))
        image = client.get(image_reply.json()["output"][0], headers={"Origin": "https://anything.example"})
    assert answered.status_code == 204
    assert answered.headers["access-control-allow-origin"] == "*"
    assert image.headers["access-control-allow-origin"] == "*"


def test_a_request_without_origin_or_from_another_origin_gets_no_cors_headers(
    mock_client: ClientFactory,
) -> None:
    with mock_client(cors_origins=(PAGE,)) as client:
        plain = client.post(IMG_MIXER, json=valid_body("img_mixer"))
        other = client.post(
            IMG_MIXER, json=valid_body("img_mixer"), headers={"Origin": "http://evil.example"}
        )
    for reply in (plain, other):
        assert reply.status_code == 200  # the request is served; the browser keeps the reply from the page
        assert "access-control-allow-origin" not in reply.headers


def test_the_admin_api_stays_closed_to_the_vendor_routes_origins(mock_client: ClientFactory) -> None:
    with mock_client(cors_origins=(PAGE,)) as client:
        answered = client.options("/_mixmock/requests", headers=preflight(PAGE, "GET"))
        read = client.get("/_mixmock/requests", headers={"Origin": PAGE})
    assert answered.status_code == 403
    assert "--admin-cors-origin" in answered.json()["detail"]
    assert "access-control-allow-origin" not in read.headers


def test_the_admin_api_opens_to_its_own_origins(mock_client: ClientFactory) -> None:
    with mock_client(admin_cors_origins=(PAGE,)) as client:
        answered = client.options(
            "/_mixmock/defaults", headers=preflight(PAGE, "PUT", "content-type, authorization")
        )
        vendor = client.options(IMG_MIXER, headers=preflight(PAGE))
    assert answered.status_code == 204
    assert "PUT" in answered.headers["access-control-allow-methods"]
    assert answered.headers["access-control-allow-headers"] == "content-type, authorization"
    assert vendor.status_code == 403


def test_the_specs_and_the_index_answer_an_allowed_origin(mock_client: ClientFactory) -> None:
    with mock_client(cors_origins=(PAGE,)) as client:
        for path in ("/", "/openapi/v6.yaml"):
            assert client.get(path, headers={"Origin": PAGE}).headers["access-control-allow-origin"] == PAGE


def test_an_options_request_that_is_no_preflight_reaches_the_route(mock_client: ClientFactory) -> None:
    with mock_client(cors_origins=(PAGE,)) as client:
        reply = client.options(IMG_MIXER, headers={"Origin": PAGE})
    assert reply.status_code == 405  # the vendor's route takes POST only
    assert reply.headers["access-control-allow-origin"] == PAGE


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("localhost:5173", "give scheme://host[:port]"),
        ("http://localhost:5173/app", "no path"),
        ("ftp://example.com", "give scheme://host[:port]"),
        ("http://localhost:99999", "is not an origin"),
    ],
    ids=["no-scheme", "path", "scheme", "port"],
)
def test_a_bad_origin_is_a_settings_error_naming_it(value: str, words: str) -> None:
    problem = origin_problem(value)
    assert problem is not None
    assert words in problem
    assert value in problem
    with pytest.raises(SettingsError, match="cors_origins"):
        load_settings({"cors_origins": [value]})
    with pytest.raises(SettingsError, match="admin_cors_origins"):
        Settings(store=":memory:", admin_cors_origins=(value,))


def test_origins_come_from_the_environment_as_a_list() -> None:
    settings = load_settings(environ={"MIXMOCK_CORS_ORIGINS": "http://a.example, https://b.example:8443"})
    assert settings.cors_origins == ("http://a.example", "https://b.example:8443")
