"""What every DefaultsStore guarantees, on SQLite and on Redis: one value shared by every process (a
change through one is what the next request of every process sees), and a failing store raising
StoreError rather than its own error."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mock_server.services.defaults import Defaults, parse_defaults
from mock_server.state.jobs import StoreError
from tests.conftest import StateOpener

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


def test_no_defaults_at_first(open_state: StateOpener) -> None:
    assert open_state().defaults.get() == Defaults()


def test_a_change_through_one_process_is_seen_by_the_others_at_once(open_state: StateOpener) -> None:
    first, second = open_state().defaults, open_state().defaults
    assert second.get().empty  # read (and cached) before the change
    first.set(parse_defaults({"prefer": "scenario=processing", "ratios": {"error": 0.1}}))
    seen = second.get()
    assert seen == Defaults("scenario=processing", {"error": 0.1})
    assert seen.parsed.reply.scenario == "processing"
    first.clear()
    assert second.get().empty
    assert first.get().empty


def test_the_setter_sees_its_own_change(open_state: StateOpener) -> None:
    defaults = open_state().defaults
    defaults.get()
    defaults.set(parse_defaults({"prefer": "scenario=failed"}))
    assert defaults.get().prefer == "scenario=failed"


def test_a_store_that_cannot_write_refuses_a_change_with_store_error(
    open_state: StateOpener, break_writes: Callable[[], None]
) -> None:
    defaults = open_state().defaults
    break_writes()
    with pytest.raises(StoreError):
        defaults.set(Defaults.of("scenario=processing", None))


def test_each_session_has_its_own_defaults_seen_by_every_process(open_state: StateOpener) -> None:
    first, second = open_state().defaults, open_state().defaults
    assert second.get("t1").empty  # read (and cached) before the change
    first.set(parse_defaults({"prefer": "scenario=processing"}))
    first.set(parse_defaults({"prefer": "scenario=failed"}), "t1")
    assert second.get("t1").prefer == "scenario=failed"
    assert second.get("t2").empty  # never the default session's
    assert second.get().prefer == "scenario=processing"
    first.clear("t1")
    assert second.get("t1").empty
    assert first.get("t1").empty
    assert second.get().prefer == "scenario=processing"


def test_sessions_with_defaults_are_bounded(open_state: StateOpener, store_backend: str) -> None:
    from mock_server.sessions import MAX_SESSIONS

    defaults = open_state().defaults
    if store_backend == "sqlite":
        for index in range(MAX_SESSIONS + 3):
            defaults.set(parse_defaults({"prefer": f"eta={index % 50 + 1}"}), f"s{index}")
        assert defaults.get("s0").empty
        assert defaults.get("s2").empty
        assert defaults.get("s3").prefer == "eta=4"
    else:  # on Redis, a session's defaults expire with the jobs
        defaults.set(parse_defaults({"prefer": "eta=3"}), "s0")
        ttl = defaults._redis.pttl(defaults._session_key("s0"))  # type: ignore[attr-defined]
        assert 0 < ttl <= 86_400_000
