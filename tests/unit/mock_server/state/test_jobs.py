from collections.abc import Iterator

import pytest

from mock_server.state.jobs import MAX_JOB_ID, Window

pytestmark = pytest.mark.unit


def test_a_window_takes_up_to_its_limit_and_says_older_items_remain() -> None:
    assert Window(2).take([("c", 1), ("b", 1), ("a", 1)]) == (["c", "b"], True)
    assert Window(3).take([("c", 1), ("b", 1), ("a", 1)]) == (["c", "b", "a"], False)


def test_a_window_stops_before_the_item_that_would_pass_its_size() -> None:
    assert Window(10, max_bytes=5).take([("c", 2), ("b", 3), ("a", 1)]) == (["c", "b"], True)


def test_a_window_takes_one_item_even_when_it_alone_passes_the_size() -> None:
    assert Window(10, max_bytes=5).take([("big", 50), ("a", 1)]) == (["big"], True)


def test_a_window_reads_no_further_than_the_item_that_ends_it() -> None:
    read: list[str] = []

    def items() -> Iterator[tuple[str, int]]:
        for name in "edcba":
            read.append(name)
            yield name, 1

    assert Window(2).take(items()) == (["e", "d"], True)
    assert read == ["e", "d", "c"]


def test_below_is_before_kept_within_the_id_range() -> None:
    assert Window().below == MAX_JOB_ID
    assert Window(before=7).below == 7
    assert Window(before=2**70).below == MAX_JOB_ID
