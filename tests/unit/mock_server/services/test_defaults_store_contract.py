"""What every DefaultsStore guarantees (each backend): one value shared by every process, and a
failing store raising StoreError rather than its own error."""

from __future__ import annotations

import pytest

from mock_server.services.defaults import Defaults
from mock_server.state.jobs import StoreError
from tests.unit.mock_server.backends import Backend

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


def test_a_change_made_through_one_process_is_read_by_every_other(backend: Backend, location: str) -> None:
    writer, reader = backend.defaults(location), backend.defaults(location)
    assert reader.get().empty
    writer.set(Defaults.of("scenario=processing", {"error": 0.1}))
    assert reader.get() == Defaults("scenario=processing", {"error": 0.1})
    writer.clear()
    assert reader.get().empty
    writer.close()
    reader.close()


def test_a_store_that_cannot_write_refuses_a_change_with_store_error(backend: Backend, location: str) -> None:
    defaults = backend.defaults(location)
    backend.break_writes(location)
    with pytest.raises(StoreError):
        defaults.set(Defaults.of("scenario=processing", None))
    defaults.close()
