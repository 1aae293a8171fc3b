"""Which session a request belongs to (header, path prefix, key prefix), and each session's own draws."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.datastructures import Headers

from mock_server.problems import Problem
from mock_server.sessions import (
    SessionRandoms,
    check_session,
    enter_path_session,
    key_session,
    path_prefix,
    request_session,
    session_seed,
)

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


@pytest.mark.parametrize(
    "value", ["t1", "gw0-0123456789", "A" * 64, "-"], ids=["short", "xdist", "64", "dash"]
)
def test_valid_ids_pass(value: str) -> None:
    assert check_session(value, "header") == value


@pytest.mark.parametrize(
    "value",
    ["", "A" * 65, "a_b", "a b", "ü", "a/b", "a.b"],
    ids=["empty", "65", "underscore", "space", "utf8", "slash", "dot"],
)
def test_invalid_ids_are_400_problems_naming_the_value(value: str) -> None:
    with pytest.raises(Problem) as raised:
        check_session(value, "header x-mixmock-session")
    assert raised.value.status == 400
    assert repr(value[:80]) in raised.value.detail
    assert "header x-mixmock-session" in raised.value.detail


@pytest.mark.parametrize(
    ("path", "raw_path", "rest", "raw_rest"),
    [
        ("/_session/t1/api/v6/x", b"/_session/t1/api/v6/x", "/api/v6/x", b"/api/v6/x"),
        (
            "/_session/t1/_mixmock/requests",
            b"/_session/t1/_mixmock/requests",
            "/_mixmock/requests",
            b"/_mixmock/requests",
        ),
        ("/_session/t1", b"/_session/t1", "/", b"/"),
        ("/_session/t1/", b"/_session/t1/", "/", b"/"),
    ],
    ids=["vendor-route", "admin", "bare", "slash"],
)
def test_the_path_prefix_is_cut_and_kept_as_the_session(
    path: str, raw_path: bytes, rest: str, raw_rest: bytes
) -> None:
    scope: dict[str, Any] = {"path": path, "raw_path": raw_path}
    enter_path_session(scope)
    assert (scope["path"], scope["raw_path"]) == (rest, raw_rest)
    assert request_session(scope, {}) == "t1"


def test_an_escaped_prefix_still_names_its_session() -> None:
    scope: dict[str, Any] = {"path": "/_session/t1/api/v6/x", "raw_path": b"/_session/%741/api/v6/x"}
    enter_path_session(scope)
    assert (scope["path"], scope["raw_path"]) == ("/api/v6/x", b"/api/v6/x")
    assert request_session(scope, {}) == "t1"


def test_a_bad_path_id_is_a_problem() -> None:
    with pytest.raises(Problem, match="path prefix"):
        enter_path_session({"path": "/_session/a_b/api", "raw_path": b"/_session/a_b/api"})


def test_no_marker_is_the_default_session() -> None:
    assert request_session({"path": "/api"}, {}) == ""


def test_the_header_names_the_session_and_agrees_with_the_path() -> None:
    scope: dict[str, Any] = {"path": "/_session/t1/api", "raw_path": b"/_session/t1/api"}
    assert request_session({}, {"x-mixmock-session": "t2"}) == "t2"
    enter_path_session(scope)
    assert request_session(scope, {"x-mixmock-session": "t1"}) == "t1"  # the same id twice is fine
    with pytest.raises(Problem) as raised:
        request_session(scope, {"x-mixmock-session": "t2"})
    assert raised.value.status == 400
    assert "'t1'" in raised.value.detail
    assert "'t2'" in raised.value.detail


def test_a_session_key_is_cut_to_the_real_key() -> None:
    body, session = key_session({"key": "sess_t1_sk-real_1", "prompt": "p"}, "")
    assert (body, session) == ({"key": "sk-real_1", "prompt": "p"}, "t1")
    assert key_session({"key": "sess_t1_k"}, "t1") == ({"key": "k"}, "t1")


@pytest.mark.parametrize(
    "body", [{"key": "sk-1"}, {"key": 7}, {}, None, [1]], ids=["plain", "number", "none", "null", "list"]
)
def test_other_bodies_are_left_alone(body: Any) -> None:
    assert key_session(body, "t9") == (body, "t9")


def test_a_key_session_that_differs_from_the_header_is_a_problem() -> None:
    with pytest.raises(Problem, match=r"'t1'.*'t2'"):
        key_session({"key": "sess_t2_k"}, "t1")


@pytest.mark.parametrize(
    "key", ["sess_t1", "sess__k", "sess_a.b_k"], ids=["no-underscore", "empty-id", "bad-id"]
)
def test_a_malformed_session_key_is_a_problem(key: str) -> None:
    with pytest.raises(Problem) as raised:
        key_session({"key": key}, "")
    assert raised.value.status == 400
    assert "sess_<id>_<key>" in raised.value.detail
    assert key not in raised.value.detail
    assert key[5:] not in raised.value.detail


def test_urls_of_a_session_keep_its_prefix() -> None:
    assert path_prefix("") == ""
    assert path_prefix("t1") == "/_session/t1"


def test_each_session_draws_from_its_own_seeded_generator() -> None:
    randoms = SessionRandoms(7)
    a_alone = [SessionRandoms(7).random("a") for _ in range(1)]
    noise = [randoms.random("b") for _ in range(5)] + [randoms.random() for _ in range(5)]
    assert len(set(noise)) == 10
    assert [randoms.random("a")] == a_alone  # what others drew changed nothing
    assert session_seed(7, "a") == session_seed(7, "a") != session_seed(8, "a")


def test_the_default_session_draws_as_without_sessions() -> None:
    import random

    assert [SessionRandoms(3).random() for _ in range(1)] == [random.Random(3).random()]


def test_a_reset_starts_a_session_over_and_the_cache_is_bounded() -> None:
    randoms = SessionRandoms(1, size=2)
    first = randoms.random("a")
    randoms.random("a")
    randoms.reset("a")
    assert randoms.random("a") == first
    randoms.random("b")
    randoms.random("c")
    assert len(randoms._sessions) == 2  # "a" went first


def test_a_header_sent_twice_with_two_ids_is_a_problem_naming_both() -> None:
    twice = Headers(raw=[(b"x-mixmock-session", b"t1"), (b"x-mixmock-session", b"t2")])
    with pytest.raises(Problem) as raised:
        request_session({}, twice)
    assert raised.value.status == 400
    assert "'t1'" in raised.value.detail
    assert "'t2'" in raised.value.detail
    same = Headers(raw=[(b"x-mixmock-session", b"t1"), (b"x-mixmock-session", b"t1")])
    assert request_session({}, same) == "t1"
    bad_second = Headers(raw=[(b"x-mixmock-session", b"t1"), (b"x-mixmock-session", b"a b")])
    with pytest.raises(Problem, match="'a b'"):
        request_session({}, bad_second)
