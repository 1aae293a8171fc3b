"""Every reply kind of every endpoint, through the whole stage pipeline, in strict mode."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from mock_server.pipeline.rendering import EXAMPLE_HEADER, VIOLATIONS_HEADER
from mock_server.state.clock import ManualClock
from mock_server.tooling.testing import InProcessClient
from openapi.operations import load_operations
from tests.conftest import ClientFactory
from tests.unit.mock_server.bodies import CREATE_PATHS, FETCH_OPERATIONS, FETCH_PATHS, valid_body

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

OPERATIONS = {operation.operation_id: operation for operation in load_operations()}
CREATE_EXAMPLES = [
    pytest.param(operation_id, example, id=f"{operation_id}-{example}")
    for operation_id in CREATE_PATHS
    for example in OPERATIONS[operation_id].examples
]
FETCH_OF = {"img_mixer": "fetch_v6", "magic_mix_enterprise": "fetch_enterprise", "magic_mix_v5": "fetch_v5"}
STATUS_OF = {"success": "success", "processing": "processing", "failed": "failed"}


def _expected_status(example: str) -> str:
    return next((status for prefix, status in STATUS_OF.items() if example.startswith(prefix)), "error")


def _create(
    client: InProcessClient, operation_id: str, *, prefer: str = "", **changes: Any
) -> httpx.Response:
    """A create of the operation with its valid body (`changes` applied), and a Prefer header when given."""
    headers = {"Prefer": prefer} if prefer else {}
    return client.post(CREATE_PATHS[operation_id], json=valid_body(operation_id, **changes), headers=headers)


@pytest.mark.parametrize(("operation_id", "example"), CREATE_EXAMPLES)
def test_every_create_example_can_be_chosen_and_validates(
    mock_client: ClientFactory, operation_id: str, example: str
) -> None:
    with mock_client() as client:
        reply = _create(client, operation_id, prefer=f"example={example}")
    assert reply.status_code == 200
    assert reply.headers[EXAMPLE_HEADER] == example
    assert VIOLATIONS_HEADER not in reply.headers
    assert reply.json()["status"] == _expected_status(example)


@pytest.mark.parametrize("operation_id", list(CREATE_PATHS))
def test_success_reply_echoes_the_request_and_serves_images_of_the_requested_size(
    mock_client: ClientFactory, operation_id: str
) -> None:
    body = valid_body(operation_id)
    with mock_client() as client:
        first = _create(client, operation_id).json()
        second = _create(client, operation_id).json()
        image = client.get(first["output"][0])
    assert first["status"] == "success"
    assert isinstance(first["id"], int)
    assert second["id"] > first["id"]
    assert first["generationTime"] > 0
    assert first["output"][0].startswith("http://mock.test/generations/" + first["meta"]["file_prefix"])
    meta = first["meta"]
    assert (meta["W"], meta["H"], meta["n_samples"], meta["outdir"]) == (
        body["width"],
        body["height"],
        1,
        "out",
    )
    assert (meta["prompt"], meta["seed"], meta["steps"]) == (body["prompt"], body["seed"], body["steps"])
    assert image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (body["width"], body["height"])


def test_img_mixer_meta_joins_init_images_with_commas(mock_client: ClientFactory) -> None:
    body = valid_body("img_mixer")
    with mock_client() as client:
        meta = _create(client, "img_mixer").json()["meta"]
    assert meta["init_image"] == ",".join(body["init_image"])
    assert meta["guidance_scale"] == 10


def test_img_mixer_without_size_makes_512_by_512(mock_client: ClientFactory) -> None:
    body = valid_body("img_mixer")
    del body["width"], body["height"]
    with mock_client() as client:
        reply = client.post(CREATE_PATHS["img_mixer"], json=body).json()
        image = Image.open(io.BytesIO(client.get(reply["output"][0]).content))
    assert (reply["meta"]["W"], reply["meta"]["H"]) == (512, 512)
    assert image.size == (512, 512)


def test_several_samples_get_indexed_urls_that_all_download(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        reply = _create(client, "magic_mix_v5", samples=3).json()
        statuses = [client.get(url).status_code for url in reply["output"]]
        beyond = client.get(reply["output"][0].replace("-0.png", "-3.png"))
    prefix = reply["meta"]["file_prefix"]
    assert [url.rsplit("/", 1)[1] for url in reply["output"]] == [f"{prefix}-{i}.png" for i in range(3)]
    assert statuses == [200, 200, 200]
    assert beyond.status_code == 404


def test_one_magic_mix_sample_is_named_without_index(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        reply = _create(client, "magic_mix_enterprise").json()
    assert reply["output"][0].endswith(reply["meta"]["file_prefix"] + ".png")


def _image(client_factory: ClientFactory, **changes: Any) -> bytes:
    with client_factory() as client:
        reply = _create(client, "img_mixer", **changes).json()
        return client.get(reply["output"][0]).content


def test_same_request_and_seed_give_identical_bytes_and_another_seed_differs(
    mock_client: ClientFactory,
) -> None:
    first, again, other = _image(mock_client), _image(mock_client), _image(mock_client, seed=54321)
    assert first == again
    assert first != other


def test_null_seed_draws_a_seed_and_echoes_it(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        meta = _create(client, "img_mixer", seed=None).json()["meta"]
    assert isinstance(meta["seed"], int)
    assert 0 <= meta["seed"] < 2**32


def test_same_seed_setting_gives_byte_identical_replies(mock_client: ClientFactory) -> None:
    replies = []
    for _ in range(2):
        with mock_client(processing_polls=None, ratios={"processing": 0.5}, seed=9) as client:
            replies.append([_create(client, "magic_mix_v5", seed=None).content for _ in range(6)])
    assert replies[0] == replies[1]


@pytest.mark.parametrize("operation_id", list(CREATE_PATHS))
def test_processing_job_finishes_when_its_eta_has_passed(
    mock_client: ClientFactory, clock: ManualClock, operation_id: str
) -> None:
    with mock_client() as client:
        queued = _create(client, operation_id, prefer="scenario=processing, eta=4").json()
        fetch_path = FETCH_PATHS[operation_id].format(id=queued["id"])
        early = client.post(fetch_path, json={"key": "test-key"})
        early_image = client.get(queued["future_links"][0])
        clock.advance(4)
        done = client.post(queued["fetch_result"], json={"key": "test-key"}).json()
        image = client.get(done["output"][0])
    assert (queued["status"], queued["eta"], queued["output"]) == ("processing", 4, [])
    assert queued["fetch_result"] == "http://mock.test" + fetch_path
    assert early.json() == OPERATIONS[FETCH_OF[operation_id]].reply_example("processing")
    assert early_image.status_code == 404
    assert done == {"status": "success", "id": queued["id"], "output": queued["future_links"]}
    assert image.status_code == 200


def test_processing_job_counted_by_polls(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        queued = _create(client, "img_mixer", prefer="scenario=processing, polls=2").json()
        states = [client.post(queued["fetch_result"], json={"key": "k"}).json()["status"] for _ in range(4)]
    assert states == ["processing", "processing", "success", "success"]


# The fetch paths that know a job: its own base URL's fetch (v5's also under the legacy v3 path).
FAMILIES = {
    "img_mixer": {"fetch_v6"},
    "magic_mix_enterprise": {"fetch_enterprise"},
    "magic_mix_v5": {"fetch_v5", "fetch_v3_alias"},
}


@pytest.mark.parametrize("create", list(CREATE_PATHS))
@pytest.mark.parametrize(("fetch_name", "path"), list(FETCH_OPERATIONS.items()))
def test_a_job_is_fetched_only_where_its_base_url_fetches(
    mock_client: ClientFactory, create: str, fetch_name: str, path: str
) -> None:
    with mock_client() as client:
        created = _create(client, create).json()
        reply = client.post(path.format(id=created["id"]), json={"key": "k"}).json()
    if fetch_name in FAMILIES[create]:
        assert reply == {"status": "success", "id": created["id"], "output": created["output"]}
    else:
        assert (reply["status"], reply["message"]) == ("failed", "Request not found")


@pytest.mark.parametrize(("fetch_name", "path"), list(FETCH_OPERATIONS.items()))
@pytest.mark.parametrize("job_id", ["999999", "abc", "-1", "1" * 40])
def test_unknown_id_gets_request_not_found(
    mock_client: ClientFactory, fetch_name: str, path: str, job_id: str
) -> None:
    with mock_client() as client:
        reply = client.post(path.format(id=job_id), json={"key": "k"})
    assert reply.status_code == 200
    assert reply.json()["message"] == "Request not found"
    assert reply.json()["status"] == "failed"


@pytest.mark.parametrize("key", [None, "", "   ", 42])
def test_fetch_checks_the_key(mock_client: ClientFactory, key: object) -> None:
    with mock_client() as client:
        created = _create(client, "img_mixer").json()
        reply = client.post(FETCH_PATHS["img_mixer"].format(id=created["id"]), json={"key": key})
    assert reply.json()["message"] == "Invalid Api Key"


@pytest.mark.parametrize("key", [None, "", "wrong"], ids=["missing", "empty", "unknown"])
def test_configured_keys_restrict_access(mock_client: ClientFactory, key: str | None) -> None:
    body = valid_body("img_mixer", key=key)
    with mock_client(api_keys=frozenset({"right"})) as client:
        rejected = client.post(
            CREATE_PATHS["img_mixer"], json=body, headers={"Authorization": "Bearer right"}
        )
        accepted = _create(client, "img_mixer", key="right")
    assert rejected.json()["message"] == "Invalid Api Key"
    assert accepted.json()["status"] == "success"


def test_forced_failed_job_is_reported_by_fetch(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        reply = client.post(
            FETCH_PATHS["img_mixer"].format(id=1), json={"key": "k"}, headers={"Prefer": "scenario=failed"}
        )
    assert reply.headers[EXAMPLE_HEADER] == "failed_not_found"


def test_fetch_prefer_success_finishes_a_processing_job(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        queued = _create(client, "img_mixer", prefer="scenario=processing, eta=600").json()
        done = client.post(
            queued["fetch_result"], json={"key": "k"}, headers={"Prefer": "scenario=success"}
        ).json()
    assert done["status"] == "success"
    assert done["output"] == queued["future_links"]


def test_integral_floats_are_the_integers_they_equal(mock_client: ClientFactory) -> None:
    """JSON Schema calls 720.0 an integer: the job is made with 720, and seed 12265.0 is the seed 12265."""
    body = valid_body("img_mixer", width=720.0, height=48.0, seed=12265.0, steps=20.0)
    with mock_client() as client:
        reply = client.post(CREATE_PATHS["img_mixer"], json=body).json()
        same = client.post(CREATE_PATHS["img_mixer"], json={**body, "width": 720, "seed": 12265}).json()
        image = client.get(reply["output"][0])
        twin = client.get(same["output"][0])
    assert reply["status"] == "success"
    assert (reply["meta"]["W"], reply["meta"]["H"], reply["meta"]["seed"]) == (720, 48, 12265)
    assert isinstance(reply["meta"]["W"], int)
    assert image.status_code == 200
    assert Image.open(io.BytesIO(image.content)).size == (720, 48)
    assert image.content == twin.content
