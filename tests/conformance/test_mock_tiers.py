"""Every tier against the mock's documented profile: zero findings, and the request counts it costs."""

from __future__ import annotations

import time

import pytest

from conformance import AuditConfig, run_audit
from mock_server.tooling.testing import running_server
from tests.conformance.conftest import FAST, audit
from tests.conformance.toy import KEY as TOY_KEY
from tests.conformance.toy import Toy

pytestmark = pytest.mark.conformance


@pytest.mark.parametrize("tier", ["smoke", "ranges", "full", "stateful"])
def test_tier_finds_nothing_on_the_documented_mock(mock_url: str, tier: str) -> None:
    started = time.monotonic()
    result = audit(mock_url, tiers=(tier,))
    elapsed = time.monotonic() - started
    assert [str(finding) for finding in result.findings] == []
    assert result.requests > 0
    assert elapsed < 30, f"{tier} took {elapsed:.1f} s"
    print(f"\n{tier}: {result.requests} requests in {elapsed:.2f} s")


def test_ranges_probes_both_sides_of_every_bound(mock_url: str) -> None:
    result = audit(mock_url, tiers=("ranges",), operations=("img_mixer",))
    cells = {(o.parameter, o.constraint, o.sent): (o.expected, o.observed) for o in result.observations}
    assert cells[("guidance_scale", "maximum 20", "20")] == ("accept", "accepted")
    assert cells[("guidance_scale", "maximum 20", "21")] == ("reject", "rejected")
    max_items = [
        (o.expected, o.observed)
        for o in result.observations
        if (o.parameter, o.constraint) == ("init_image", "maxItems 4")
    ]
    assert max_items == [("accept", "accepted"), ("reject", "rejected")]
    assert all(o.conforms for o in result.observations)


def test_budget_is_a_hard_cap(mock_url: str) -> None:
    result = audit(mock_url, tiers=("smoke", "ranges"), budget=7)
    assert result.requests == 7
    assert result.budget_exhausted


def test_same_seed_sends_the_same_corpus_to_any_target(mock_url: str) -> None:
    tiers = ("smoke", "ranges", "full", "stateful")
    on_mock = audit(mock_url, tiers=tiers, seed=3)
    with running_server(Toy().app()) as toy_url:
        on_toy = run_audit(AuditConfig(base_url=toy_url, key=TOY_KEY, tiers=tiers, seed=3, **FAST))
    assert on_mock.corpus_size == on_toy.corpus_size > 100
    assert on_mock.corpus_hash == on_toy.corpus_hash
    other_seed = audit(mock_url, tiers=("full",), seed=4)
    assert other_seed.corpus_hash != audit(mock_url, tiers=("full",), seed=3).corpus_hash


def test_webhooks_of_the_documented_mock_pass(mock_url: str) -> None:
    result = audit(mock_url, tiers=("smoke",), webhooks=True)
    assert [str(finding) for finding in result.findings] == []
    assert [stats.tier for stats in result.tiers] == ["smoke", "webhooks"]
