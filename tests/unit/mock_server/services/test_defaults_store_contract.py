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
