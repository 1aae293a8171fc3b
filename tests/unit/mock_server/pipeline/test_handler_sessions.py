"""Sessions through the whole app: three ways to name one, URLs that keep it, and what it scopes (jobs,
output files, journal, defaults, rules, draws)."""

from __future__ import annotations

from typing import Any

import pytest

from mock_server.settings import Settings
from mock_server.tooling.testing import InProcessClient
from tests.conftest import ClientFactory
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]

CREATE = CREATE_PATHS["img_mixer"]
PROCESSING = {"Prefer": "scenario=processing, polls=0"}


def _create(
    client: InProcessClient, path: str = CREATE, headers: dict[str, str] | None = None, **body: Any
) -> Any:
    reply = client.post(path, json=valid_body("img_mixer", **body), headers={**PROCESSING, **(headers or {})})
    assert reply.status_code == 200, reply.text
    return reply.json()


WAYS = [
    pytest.param("/_session/t1" + CREATE, {}, {}, id="path"),
    pytest.param(CREATE, {"X-Mixmock-Session": "t1"}, {}, id="header"),
    pytest.param(CREATE, {}, {"key": "sess_t1_test-key"}, id="key"),
]


@pytest.mark.parametrize(("path", "headers", "body"), WAYS)
def test_each_way_puts_the_job_in_the_session_and_its_urls_keep_it(
    mock_client: ClientFactory, path: str, headers: dict[str, str], body: dict[str, Any]
) -> None:
    with mock_client() as client:
        queued = _create(client, path, headers, **body)
        assert queued["fetch_result"].startswith("http://mock.test/_session/t1/api/v6/")
        assert all(
            url.startswith("http://mock.test/_session/t1/generations/") for url in queued["future_links"]
        )
        done = client.post(queued["fetch_result"], json={"key": "test-key"}).json()  # the URL alone is enough
        assert done["status"] == "success"
        assert client.get(done["output"][0]).headers["content-type"] == "image/png"
        # from the default session, or another one, the job is unknown: the vendor's not-found reply
        job_id = queued["id"]
        for elsewhere in (
            f"/api/v6/image_editing/fetch/{job_id}",
            f"/_session/t2/api/v6/image_editing/fetch/{job_id}",
        ):
            other = client.post(elsewhere, json={"key": "test-key"}).json()
            assert other["status"] == "failed"
            assert other["message"] == "Request not found"
        image = done["output"][0].replace("/_session/t1", "")
        assert client.get(image).status_code == 404
        assert client.get(image, headers={"X-Mixmock-Session": "t2"}).status_code == 404


def test_the_journal_shows_the_real_key_redacted_and_the_session(mock_client: ClientFactory) -> None:
    with mock_client(api_keys=("sk-real",)) as client:
        reply = client.post(CREATE, json=valid_body("img_mixer", key="sess_t1_sk-real"))
        assert reply.json()["status"] == "success"  # the key checked is the real one
        entries = client.get("/_session/t1/_mixmock/requests").json()["requests"]
        assert [(e["session"], e["body"]["key"]) for e in entries] == [("t1", "[redacted]")]
        assert client.get("/_mixmock/requests").json()["requests"] == []


@pytest.mark.parametrize(
    ("path", "headers", "body", "named"),
    [
        pytest.param(
            "/_session/t1" + CREATE, {"X-Mixmock-Session": "t2"}, {}, ("'t1'", "'t2'"), id="path-header"
        ),
        pytest.param(
            CREATE, {"X-Mixmock-Session": "t1"}, {"key": "sess_t2_k"}, ("'t1'", "'t2'"), id="header-key"
        ),
        pytest.param("/_session/a.b" + CREATE, {}, {}, ("'a.b'",), id="bad-path"),
        pytest.param(CREATE, {"X-Mixmock-Session": "x" * 65}, {}, ("xxxx",), id="bad-header"),
        pytest.param(CREATE, {}, {"key": "sess_a!_k"}, ("sess_<id>_<key>",), id="bad-key"),
    ],
)
def test_two_sessions_or_a_bad_id_are_400_problems(
    mock_client: ClientFactory,
    path: str,
    headers: dict[str, str],
    body: dict[str, Any],
    named: tuple[str, ...],
) -> None:
    with mock_client() as client:
        reply = client.post(path, json=valid_body("img_mixer", **body), headers=headers)
        assert reply.status_code == 400
        assert reply.headers["content-type"] == "application/problem+json"
        assert all(name in reply.json()["detail"] for name in named)
        bad_admin = client.get("/_mixmock/requests", headers={"X-Mixmock-Session": "a b"})
        assert bad_admin.status_code == 400


def test_the_journal_is_per_session_and_the_default_view_can_look_into_one(
    mock_client: ClientFactory,
) -> None:
    with mock_client() as client:
        _create(client, headers={"X-Mixmock-Session": "t1"}, steps=11)
        _create(client, headers={"X-Mixmock-Session": "t2"}, steps=22)
        _create(client, steps=33)

        def steps(path: str, **params: str) -> list[int]:
            return [e["body"]["steps"] for e in client.get(path, params=params).json()["requests"]]

        assert steps("/_session/t1/_mixmock/requests") == [11]
        assert steps("/_mixmock/requests", session="t2") == [22]
        assert steps("/_mixmock/requests") == [33]
        assert client.get("/_session/t1/_mixmock/requests", params={"session": "t2"}).status_code == 400
        assert [job["id"] for job in client.get("/_session/t2/_mixmock/jobs").json()["jobs"]] == [2]
        assert client.get("/_session/t2/_mixmock/jobs/1").status_code == 404
        assert client.post("/_session/t1/_mixmock/reset").json() == {"reset": True, "session": "t1"}
        assert steps("/_session/t1/_mixmock/requests") == []
        assert steps("/_session/t2/_mixmock/requests") == [22]
        assert steps("/_mixmock/requests") == [33]


def test_defaults_and_rules_are_per_session_and_fall_back_to_the_launch_settings(
    mock_client: ClientFactory,
) -> None:
    with mock_client(ratios={"error": 1.0}) as client:
        client.put("/_mixmock/defaults", json={"ratios": {"failed": 1.0}})  # the default session's, run-time
        client.put("/_session/t1/_mixmock/defaults", json={"prefer": "scenario=processing"})
        rule = {"when": {"prompt": {"contains": "slow"}}, "then": {"scenario": "success"}}
        assert client.post("/_session/t2/_mixmock/rules", json=rule).status_code == 201

        def status(path: str, prompt: str = "rose man") -> str:
            return str(client.post(path, json=valid_body("img_mixer", prompt=prompt)).json()["status"])

        assert status("/_session/t1" + CREATE) == "processing"
        assert status("/_session/t2" + CREATE, "slow rose") == "success"
        assert (
            status("/_session/t2" + CREATE) == "error"
        )  # launch ratios, not the default session's run-time ones
        assert status(CREATE, "slow rose") == "failed"
        assert client.get("/_session/t1/_mixmock/defaults").json()["prefer"] == "scenario=processing"
        assert client.get("/_session/t2/_mixmock/defaults").json() == {"prefer": None, "ratios": None}
        assert [r["source"] for r in client.get("/_mixmock/rules").json()["rules"]] == []
        assert len(client.get("/_session/t2/_mixmock/rules").json()["rules"]) == 1
        client.post("/_session/t2/_mixmock/reset")
        assert client.get("/_session/t2/_mixmock/rules").json()["rules"] == []
        assert client.get("/_session/t1/_mixmock/defaults").json()["prefer"] == "scenario=processing"


def test_a_sessions_draws_do_not_depend_on_other_sessions(mock_client: ClientFactory) -> None:
    def statuses(client: InProcessClient, session: str) -> list[str]:
        path = f"/_session/{session}{CREATE}"
        return [client.post(path, json=valid_body("img_mixer")).json()["status"] for _ in range(12)]

    with mock_client(ratios={"processing": 0.5}, seed=4) as client:
        alone = statuses(client, "t1")
    with mock_client(ratios={"processing": 0.5}, seed=4) as client:
        for _ in range(7):
            client.post(CREATE, json=valid_body("img_mixer"))
        statuses(client, "t2")
        crowded = statuses(client, "t1")
        client.post("/_session/t1/_mixmock/reset")
        again = statuses(client, "t1")
    assert alone == crowded == again
    assert set(alone) == {"success", "processing"}


def test_webhook_deliveries_show_in_their_jobs_session_only(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        queued = _create(client, "/_session/t1" + CREATE, webhook="http://127.0.0.1:9/hook")
        mine = client.get("/_session/t1/_mixmock/webhooks").json()["deliveries"]
        assert [delivery["job_id"] for delivery in mine] == [queued["id"]]
        assert client.get("/_mixmock/webhooks").json()["deliveries"] == []
        assert client.get("/_session/t2/_mixmock/webhooks").json()["deliveries"] == []
        assert len(client.get("/_mixmock/webhooks", params={"session": "t1"}).json()["deliveries"]) == 1


def test_a_sessions_job_listing_pages_over_its_own_jobs(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        mine = [_create(client, headers={"X-Mixmock-Session": "t1"})["id"] for _ in range(3)]
        for _ in range(5):
            _create(client)  # newer jobs of the default session between and after
        mine.append(_create(client, headers={"X-Mixmock-Session": "t1"})["id"])
        for _ in range(5):
            _create(client)
        first = client.get("/_session/t1/_mixmock/jobs", params={"limit": 2}).json()
        assert [job["id"] for job in first["jobs"]] == mine[2:]
        older = client.get("/_session/t1/_mixmock/jobs", params={"limit": 2, "before": first["next_before"]})
        assert [job["id"] for job in older.json()["jobs"]] == mine[:2]
        default = client.get("/_mixmock/jobs", params={"limit": 3}).json()
        assert len(default["jobs"]) == 3
        assert not set(mine) & {job["id"] for job in default["jobs"]}


def test_a_session_is_scoped_the_same_on_every_store_backend(
    mock_client: ClientFactory, backend_settings: Settings
) -> None:
    store = {"store": backend_settings.store, "store_prefix": backend_settings.store_prefix}
    with mock_client(**store) as client, mock_client(**store) as replica:  # two processes, one store
        client.put("/_session/t1/_mixmock/defaults", json={"prefer": "polls=0", "ratios": {"processing": 1}})
        rule = {"when": {"prompt": {"contains": "boom"}}, "then": {"scenario": "failed"}}
        client.post("/_session/t1/_mixmock/rules", json=rule)
        queued = replica.post("/_session/t1" + CREATE, json=valid_body("img_mixer")).json()
        assert queued["status"] == "processing"
        failed = replica.post("/_session/t1" + CREATE, json=valid_body("img_mixer", prompt="boom")).json()
        assert failed["status"] == "failed"
        assert replica.post(CREATE, json=valid_body("img_mixer", prompt="boom")).json()["status"] == "success"
        fetch = f"/api/v6/image_editing/fetch/{queued['id']}"
        assert client.post(fetch, json={"key": "k"}).json()["message"] == "Request not found"
        assert client.post("/_session/t1" + fetch, json={"key": "k"}).json()["status"] == "success"
        replica.get("/_mixmock/requests")  # a read writes what the process buffered (write-behind)
        seen = client.get("/_session/t1/_mixmock/requests").json()["requests"]
        assert [entry["session"] for entry in seen] == ["t1"] * 3
        assert len(client.get("/_mixmock/requests").json()["requests"]) == 2
        client.post("/_session/t1/_mixmock/reset")
        assert replica.get("/_session/t1/_mixmock/requests").json()["requests"] == []
        assert replica.get("/_session/t1/_mixmock/rules").json()["rules"] == []
        assert (
            replica.post("/_session/t1" + CREATE, json=valid_body("img_mixer")).json()["status"] == "success"
        )
        assert len(replica.get("/_mixmock/requests").json()["requests"]) == 2


def test_a_key_sessions_refused_request_is_journaled_in_its_session(mock_client: ClientFactory) -> None:
    with mock_client() as client:
        body = valid_body("img_mixer", key="sess_t1_test-key")
        refused = client.post(CREATE, json=body, headers={"Prefer": "scenario=nonsense"})
        assert refused.status_code == 400
        assert client.get("/_mixmock/requests").json()["requests"] == []
        (entry,) = client.get("/_session/t1/_mixmock/requests").json()["requests"]
        assert (entry["operation"], entry["http_status"], entry["body"]["prompt"]) == (
            "img_mixer",
            400,
            body["prompt"],
        )
        assert "test-key" not in str(entry)  # the key is redacted, as in any entry
