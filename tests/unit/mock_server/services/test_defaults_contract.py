"""The run-time defaults contract on every store backend: a change through one process is what the next
request of every process sees."""

from __future__ import annotations

import pytest

from mock_server.services.defaults import Defaults, parse_defaults
from tests.conftest import StateOpener

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


def test_no_defaults_at_first(open_state: StateOpener) -> None:
    assert open_state().defaults.get() == Defaults()


def test_a_change_through_one_process_is_seen_by_the_others_at_once(open_state: StateOpener) -> None:
    first, second = open_state().defaults, open_state().defaults
    assert second.get().empty  # read (and cached) before the change
    first.set(parse_defaults({"prefer": "scenario=processing", "ratios": {"error": 0.1}}))
    seen = second.get()
    assert (seen.prefer, dict(seen.ratios or {})) == ("scenario=processing", {"error": 0.1})
    assert seen.parsed.reply.scenario == "processing"
    first.clear()
    assert second.get().empty
    assert first.get().empty


def test_the_setter_sees_its_own_change(open_state: StateOpener) -> None:
    defaults = open_state().defaults
    defaults.get()
    defaults.set(parse_defaults({"prefer": "scenario=failed"}))
    assert defaults.get().prefer == "scenario=failed"
