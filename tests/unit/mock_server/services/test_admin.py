"""The admin API: journal queries, jobs, deliveries, defaults, reset, and the optional bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.engines.base import ImageJob
from mock_server.services.admin import Admin, admin_mount
from mock_server.services.admin_access import admin_access
from mock_server.services.defaults import Defaults, SQLiteDefaults
from mock_server.services.deliveries import Attempt, Delivery, SQLiteDeliveries
from mock_server.services.journal import JournalEntry, SQLiteJournal
from mock_server.services.redaction import REDACTED
from mock_server.state.jobs import Job, Page, Window

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


class Jobs:
    def __init__(self, *jobs: Job) -> None:
        self.jobs = {job.id: job for job in jobs}

    def get(self, job_id: int) -> Job | None:
        return self.jobs.get(job_id)

    def page(self, window: Window) -> Page[Job]:
        older = sorted(job.id for job in self.jobs.values() if job.id < window.below)
        limit = window.limit
        return Page([self.jobs[i] for i in older[-limit:]], older[-limit] if len(older) > limit else None)


def make_job(job_id: int) -> Job:
    image_job = ImageJob("img_mixer", {"prompt": "rose man"}, 64, 64, 1, 7)
    return Job(job_id, "img_mixer", f"prefix-{job_id}", "processing", 0.0, image_job, (), {}, 1.0)


def entry(operation: str, steps: int) -> JournalEntry:
    body = {"key": REDACTED, "prompt": "p", "steps": steps}
    return JournalEntry(1.0, "POST", "/x", operation, body, 200, "success", "success", "default")


@pytest.fixture
def admin() -> Admin:
    return Admin(SQLiteJournal(":memory:"), SQLiteDeliveries(":memory:"), SQLiteDefaults(":memory:"), Jobs())


def client_for(admin: Admin) -> Iterator[TestClient]:
    with TestClient(Starlette(routes=[admin_mount(admin)])) as client:
        yield client


@pytest.fixture
def client(admin: Admin) -> Iterator[TestClient]:
    yield from client_for(admin)


def test_requests_are_filtered_on_operation_and_body(admin: Admin, client: TestClient) -> None:
    for operation, steps in [("img_mixer", 41), ("img_mixer", 20), ("fetch_v6", 41)]:
        admin.journal.append(entry(operation, steps))
    found = client.get("/_mixmock/requests", params={"operation": "img_mixer", "body.steps": "41"}).json()
    assert [(r["operation"], r["body"]["steps"]) for r in found["requests"]] == [("img_mixer", 41)]
    assert len(client.get("/_mixmock/requests").json()["requests"]) == 3
    assert len(client.get("/_mixmock/requests?limit=2").json()["requests"]) == 2


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        pytest.param("colour=red", "cannot filter on 'colour'", id="unknown-filter"),
        pytest.param("limit=0", "limit='0' must be a whole number from 1 to 10000", id="limit-zero"),
        pytest.param("limit=many", "limit='many'", id="limit-word"),
    ],
)
def test_bad_queries_are_400_problems_naming_the_value(client: TestClient, query: str, detail: str) -> None:
    reply = client.get(f"/_mixmock/requests?{query}")
    assert reply.status_code == 400
    assert reply.headers["content-type"] == "application/problem+json"
    assert detail in reply.json()["detail"]


def test_jobs_are_listed_and_read_one_by_one(client: TestClient, admin: Admin) -> None:
    admin.jobs = Jobs(make_job(1), make_job(2))
    assert [job["id"] for job in client.get("/_mixmock/jobs").json()["jobs"]] == [1, 2]
    assert client.get("/_mixmock/jobs/2").json()["image_job"]["params"] == {"prompt": "rose man"}
    missing = client.get("/_mixmock/jobs/nine")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no job has id 'nine'"


def test_webhook_deliveries_show_every_attempt(admin: Admin, client: TestClient) -> None:
    refused = Attempt(5.0, None, "refused: host 'example.com' is not an allowed webhook host")
    admin.deliveries.add(
        Delivery.new(1, "http://example.com/h", created_at=5.0, next_at=5.0, state="refused", attempt=refused)
    )
    admin.deliveries.add(
        Delivery.new(2, "http://127.0.0.1:1/h", created_at=5.0, next_at=9.0, state="pending")
    )
    everything = client.get("/_mixmock/webhooks").json()["deliveries"]
    assert [(d["job_id"], d["state"]) for d in everything] == [(1, "refused"), (2, "pending")]
    assert everything[0]["attempts"] == [{"at": 5.0, "status": None, "error": refused.error}]
    assert [d["job_id"] for d in client.get("/_mixmock/webhooks?state=pending").json()["deliveries"]] == [2]
    assert client.get("/_mixmock/webhooks?state=lost").status_code == 400


def test_defaults_are_set_read_and_cleared(admin: Admin, client: TestClient) -> None:
    wanted = {"prefer": "scenario=processing, eta=2", "ratios": {"processing": 0.3}}
    assert client.put("/_mixmock/defaults", json=wanted).json() == wanted
    assert admin.defaults.get() == Defaults("scenario=processing, eta=2", {"processing": 0.3})
    assert client.delete("/_mixmock/defaults").json() == {"prefer": None, "ratios": None}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param({"prefer": "scenario=sideways"}, "scenario='sideways'", id="bad-scenario"),
        pytest.param({"prefer": "fault=explode"}, "fault='explode'", id="bad-fault"),
        pytest.param({"ratios": {"sideways": 0.1}}, "'sideways' is not a scenario", id="bad-ratio-name"),
        pytest.param({"ratios": {"error": 2}}, "error=2: the share must be between 0 and 1", id="bad-share"),
        pytest.param({"ratios": {"error": 0.7, "failed": 0.7}}, "add up to more than 1", id="sum"),
        pytest.param({"colour": "red"}, "holds unknown fields", id="unknown-field"),
        pytest.param([1], "must be a JSON object", id="not-an-object"),
    ],
)
def test_bad_defaults_are_400_problems(client: TestClient, body: Any, detail: str) -> None:
    reply = client.put("/_mixmock/defaults", json=body)
    assert reply.status_code == 400
    assert detail in reply.json()["detail"]


def test_reset_forgets_journal_deliveries_and_defaults(admin: Admin, client: TestClient) -> None:
    resets: list[str] = []
    admin.on_reset = resets.append
    admin.journal.append(entry("img_mixer", 1))
    admin.deliveries.add(
        Delivery.new(1, "http://127.0.0.1:1/h", created_at=0.0, next_at=0.0, state="pending")
    )
    admin.defaults.set(Defaults("scenario=error"))
    assert client.post("/_mixmock/reset").json() == {"reset": True, "session": ""}
    assert len(admin.journal) == 0
    assert admin.deliveries.page(Window()).items == []
    assert admin.defaults.get().empty
    assert resets == [""]


def test_a_configured_token_is_required(admin: Admin) -> None:
    admin.access = admin_access("auto", "s3cret", "0.0.0.0")
    for client in client_for(admin):
        refused = client.get("/_mixmock/requests")
        wrong = client.get("/_mixmock/requests", headers={"Authorization": "Bearer nope"})
        allowed = client.get("/_mixmock/requests", headers={"Authorization": "Bearer s3cret"})
    assert (refused.status_code, wrong.status_code, allowed.status_code) == (401, 401, 200)
    assert refused.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("prefix", ["_mixmock", "/_mixmock/", "/"])
def test_a_bad_prefix_is_refused(admin: Admin, prefix: str) -> None:
    with pytest.raises(ValueError, match="admin prefix"):
        admin_mount(admin, prefix)


@pytest.mark.parametrize(
    "raw",
    ["9223372036854775808", "9" * 5000, "-1", "\uff11\uff12", "0x1f"],
    ids=["2**63", "5000-digits", "negative", "fullwidth-digits", "hex"],
)
def test_an_id_no_job_can_have_is_a_404_problem(client: TestClient, raw: str) -> None:
    reply = client.get(f"/_mixmock/jobs/{raw}")
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/problem+json"
    assert len(reply.json()["detail"]) < 120


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        pytest.param(b"[" * 30_000 + b"]" * 30_000, "nests deeper", id="nested-30k"),
        pytest.param(b'{"prefer": ' * 50 + b"1" + b"}" * 50, "nests deeper", id="nested-objects"),
        pytest.param(b'{"prefer": "' + b"a" * 100_000 + b'"}', "larger than", id="oversized"),
        pytest.param(b"{nope", "not valid JSON", id="not-json"),
        pytest.param(b'{"ratios": {"error": NaN}}', "NaN", id="nan"),
    ],
)
def test_a_hostile_defaults_body_is_a_400_problem(client: TestClient, body: bytes, detail: str) -> None:
    reply = client.put("/_mixmock/defaults", content=body)
    assert reply.status_code == 400
    assert reply.headers["content-type"] == "application/problem+json"
    assert detail in reply.json()["detail"]


def test_a_hostile_filter_value_matches_nothing(admin: Admin, client: TestClient) -> None:
    admin.journal.append(entry("img_mixer", 41))
    reply = client.get("/_mixmock/requests", params={"body.steps": "[" * 20_000})
    assert (reply.status_code, reply.json()["requests"]) == (200, [])


def test_listings_are_pages_that_continue_with_next_before(admin: Admin, client: TestClient) -> None:
    for steps in range(1, 6):
        admin.journal.append(entry("img_mixer", steps))
    first = client.get("/_mixmock/requests?limit=2").json()
    second = client.get(f"/_mixmock/requests?limit=2&before={first['next_before']}").json()
    rest = client.get(f"/_mixmock/requests?limit=2&before={second['next_before']}").json()
    assert [[r["body"]["steps"] for r in page["requests"]] for page in (first, second, rest)] == [
        [4, 5],
        [2, 3],
        [1],
    ]
    assert rest["next_before"] is None
    admin.jobs = Jobs(*(make_job(job_id) for job_id in range(1, 4)))
    jobs = client.get("/_mixmock/jobs?limit=2").json()
    assert ([job["id"] for job in jobs["jobs"]], jobs["next_before"]) == ([2, 3], 2)
    assert client.get("/_mixmock/webhooks?limit=2").json()["next_before"] is None
    assert client.get("/_mixmock/jobs?before=x").status_code == 400


def test_a_closed_admin_api_names_how_to_open_it(admin: Admin) -> None:
    admin.access = admin_access("auto", None, "0.0.0.0")
    for client in client_for(admin):
        reply = client.get("/_mixmock/requests")
    assert reply.status_code == 403
    assert reply.json()["title"] == "Admin API closed"


def test_a_change_naming_another_session_in_the_query_is_refused_not_applied_to_the_callers(
    admin: Admin, client: TestClient
) -> None:
    admin.journal.append(entry("img_mixer", 41))
    admin.defaults.set(Defaults(prefer="scenario=failed"), "t1")
    for method, path in [("POST", "/_mixmock/reset"), ("DELETE", "/_mixmock/defaults")]:
        refused = client.request(method, path, params={"session": "t1"})
        assert refused.status_code == 400, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert "'t1'" in refused.json()["detail"]
    refused = client.put("/_mixmock/defaults?session=t1", json={"prefer": "scenario=processing"})
    assert refused.status_code == 400
    assert len(client.get("/_mixmock/requests").json()["requests"]) == 1  # the caller's journal is kept
    assert client.get("/_mixmock/defaults").json() == {"prefer": None, "ratios": None}
    assert client.get("/_mixmock/defaults?session=t1").json()["prefer"] == "scenario=failed"  # a GET looks
    same = client.post("/_mixmock/reset", params={"session": ""})  # naming the caller's own is fine
    assert same.status_code == 200


def test_a_query_naming_two_sessions_is_refused_naming_both(admin: Admin, client: TestClient) -> None:
    for method in ("GET", "POST"):
        path = "/_mixmock/requests" if method == "GET" else "/_mixmock/reset"
        refused = client.request(method, path + "?session=t1&session=t2")
        assert refused.status_code == 400, refused.text
        assert "'t1' and 't2'" in refused.json()["detail"]
    assert client.get("/_mixmock/requests?session=t1&session=t1").status_code == 200  # the same one twice
