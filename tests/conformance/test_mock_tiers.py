"""Every tier against the mock's documented profile: no finding but the mock's known bugs; request counts."""

from __future__ import annotations

import pytest

from conformance import AuditResult
from mock_server.app import create_app
from mock_server.tooling.testing import running_server
from tests.conformance.clone import Clone
from tests.conformance.conftest import audit, audit_clone, mock_settings

pytestmark = pytest.mark.conformance


def _keys(result: AuditResult) -> set[str]:
    return {finding.key for finding in result.findings}


@pytest.mark.parametrize("tier", ["smoke", "ranges", "full", "stateful"])
def test_tier_finds_nothing_on_the_documented_mock(mock_url: str, tier: str) -> None:
    result = audit(mock_url, tiers=(tier,))
    assert _keys(result) == set()
    assert result.requests > 0
    assert not result.incomplete
    stats = result.tiers[0]
    print(f"\n{tier}: {stats.requests} requests in {stats.seconds:.2f} s")


def test_integral_float_probes_are_accepted_and_their_images_download(mock_url: str) -> None:
    """720.0 is an integer to JSON Schema: the mock makes a 720-wide image, and the audit checks it."""
    result = audit(mock_url, tiers=("ranges",), operations=("img_mixer",))
    floats = [o for o in result.observations if o.sent.endswith(".0") and o.parameter in {"width", "seed"}]
    assert floats
    assert {(o.expected, o.observed) for o in floats} == {("accept", "accepted")}
    assert result.findings == []


def test_ranges_probes_both_sides_of_every_bound(mock_url: str) -> None:
    result = audit(mock_url, tiers=("ranges",), operations=("img_mixer",))
    cells = {(o.parameter, o.constraint, o.sent): (o.expected, o.observed) for o in result.observations}
    assert cells[("guidance_scale", "maximum 20", "20")] == ("accept", "accepted")
    for outside in ("20.01", "20.5", "21"):
        assert cells[("guidance_scale", "maximum 20", outside)] == ("reject", "rejected")
    for outside in ("0.99", "0.5", "0"):
        assert cells[("guidance_scale", "minimum 1", outside)] == ("reject", "rejected")
    assert cells[("width", "type integer", "720.0")] == ("accept", "accepted")
    for wrong in ("720.5", '"720"', "true", "null"):
        assert cells[("width", "type integer", wrong)] == ("reject", "rejected")
    max_items = [
        (o.expected, o.observed)
        for o in result.observations
        if (o.parameter, o.constraint) == ("init_image", "maxItems 4")
    ]
    assert max_items == [("accept", "accepted"), ("reject", "rejected")]
    assert all(o.conforms for o in result.observations)


def test_webhooks_of_the_documented_mock_pass_without_anyone_polling() -> None:
    """Jobs end by time here (no processing_polls), so a queued job's webhook must come unpolled."""
    with running_server(create_app(mock_settings(processing_polls=None))) as url:
        result = audit(url, tiers=("smoke",), webhooks=True, prefer="scenario=processing, eta=1")
    assert [str(finding) for finding in result.findings] == []
    assert [stats.tier for stats in result.tiers] == ["smoke", "webhooks"]
    webhook_checks = {check.check for check in result.checks if "webhooks" in check.tiers}
    assert "the webhook is delivered once per job" in webhook_checks


def test_same_seed_sends_the_same_corpus_to_any_target(mock_url: str, clone: tuple[Clone, str]) -> None:
    tiers = ("smoke", "ranges", "full", "stateful")
    on_mock = audit(mock_url, tiers=tiers, seed=3)
    on_clone = audit_clone(clone[1], tiers=tiers, seed=3)
    assert on_mock.corpus_size == on_clone.corpus_size > 100
    assert on_mock.corpus_hash == on_clone.corpus_hash
    other_seed = audit(mock_url, tiers=("full",), seed=4)
    assert other_seed.corpus_hash != audit(mock_url, tiers=("full",), seed=3).corpus_hash
