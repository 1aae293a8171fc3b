"""What the mock says it serves: `GET /`, the published specs byte for byte, and the startup block."""

from __future__ import annotations

import pytest
import yaml

from mock_server.discovery import package_version, startup_block
from mock_server.pipeline.routing import route_table
from mock_server.settings import Settings
from mock_server.state import launch_store
from openapi import SPECS
from tests.conftest import ClientFactory

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]

ROUTES = route_table()


def test_the_index_lists_every_route_and_links_the_specs(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        index = client.get("/", headers={"Host": "mock.example:9000"}).json()
    listed = {(route["method"], route["path"], route["operation"]) for route in index["routes"]}
    assert listed == {(entry.operation.method, entry.path, entry.operation.operation_id) for entry in ROUTES}
    assert ("POST", "/api/v3/fetch/{id}", "fetch_v5") in listed  # the legacy alias too
    assert index["specs"] == {
        "v6": "http://mock.example:9000/openapi/v6.yaml",
        "v1-enterprise": "http://mock.example:9000/openapi/v1-enterprise.yaml",
        "v5": "http://mock.example:9000/openapi/v5.yaml",
    }
    assert all(route["spec_url"] == index["specs"][route["spec"]] for route in index["routes"])
    assert index["admin"] == "http://mock.example:9000/_mixmock/"
    assert index["version"] == package_version()
    assert index["profile"] == "documented"


def test_the_index_follows_the_public_url_and_says_when_admin_is_off(mock_client: ClientFactory) -> None:
    with mock_client(public_url="https://mock.example", admin="off") as client:
        index = client.get("/").json()
    assert index["specs"]["v6"] == "https://mock.example/openapi/v6.yaml"
    assert index["admin"] is None


@pytest.mark.parametrize("name", list(SPECS))
def test_each_published_spec_is_served_byte_for_byte(mock_client: ClientFactory, name: str) -> None:
    with mock_client() as client:
        reply = client.get(f"/openapi/{name}.yaml")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/yaml"
    assert reply.content == SPECS[name].path.read_bytes()
    assert yaml.safe_load(reply.content)["openapi"].startswith("3.1")


def test_an_unknown_spec_or_a_post_to_the_index_is_a_problem(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        unknown = client.get("/openapi/v7.yaml")
        posted = client.post("/", json={})
    assert unknown.status_code == 404
    assert posted.status_code in {404, 405}
    for reply in (unknown, posted):
        assert reply.headers["content-type"] == "application/problem+json"


def test_the_vendor_routes_are_still_answered_beside_the_index(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        reply = client.post("/api/v6/image_editing/fetch/999", json={"key": "k"})
    assert reply.json()["message"] == "Request not found"


def test_the_startup_block_names_routes_profile_store_admin_and_cors() -> None:
    settings = Settings(
        store="redis://:s3cret@redis.internal:6379/0",
        profile="observed",
        admin_token="t0ken",
        cors_origins=("http://localhost:5173",),
    )
    block = startup_block(settings, ROUTES, "/_mixmock")
    for entry in ROUTES:
        assert f"{entry.operation.method:<5}{entry.path}" in block
    assert "profile: observed" in block
    assert "redis://:***@redis.internal:6379/0" in block
    assert "s3cret" not in block
    assert "t0ken" not in block
    assert "admin API /_mixmock/: requires Authorization: Bearer <the admin token>" in block
    assert "cors: http://localhost:5173" in block
    assert "admin cors: closed" in block
    assert "/openapi/v1-enterprise.yaml" in block


def test_the_startup_block_says_a_launch_store_goes_with_the_launch() -> None:
    block = startup_block(Settings(store=launch_store.new_path(), admin="off"), ROUTES, "/_mixmock")
    assert "removed when the server stops" in block
    assert "admin API /_mixmock/: off" in block
    named = startup_block(Settings(store="jobs.sqlite3"), ROUTES, "/_mixmock")
    assert "store: jobs.sqlite3\n" in named


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        pytest.param("/_session/t1/", {}, id="path"),
        pytest.param("/_session/t1", {}, id="path-no-slash"),
        pytest.param("/", {"X-Mixmock-Session": "t1"}, id="header"),
    ],
)
def test_the_index_seen_from_a_session_links_inside_it(
    mock_client: ClientFactory, path: str, headers: dict[str, str]
) -> None:
    with mock_client() as client:
        index = client.get(path, headers=headers).json()
        links = [*index["specs"].values(), index["files"], index["health"], index["ready"], index["admin"]]
        links += [route["spec_url"] for route in index["routes"]]
        assert all(link.startswith("http://mock.test/_session/t1/") for link in links), links
        admin = client.get(index["admin"] + "defaults")  # followed without the header: still t1's
        client.put("/_session/t1/_mixmock/defaults", json={"prefer": "scenario=failed"})
        assert client.get(index["admin"] + "defaults").json()["prefer"] == "scenario=failed"
        assert admin.status_code == 200
        bad = client.get("/", headers={"X-Mixmock-Session": "a b"})
        assert bad.status_code == 400
        assert "'a b'" in bad.json()["detail"]
