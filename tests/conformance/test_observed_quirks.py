"""The mock's `observed` profile: the audit reports each of the vendor's quirks as a finding."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mock_server.app import create_app
from mock_server.pipeline.quirks import QUIRKS
from mock_server.tooling.testing import running_server
from tests.conformance.conftest import audit, mock_settings

pytestmark = pytest.mark.conformance

# quirk -> (tier, operations audited, the finding that reports it)
EXPECTED = {
    "messege_typo": (
        "stateful",
        ("img_mixer", "fetch_v6"),
        "fetch_v6 reply.messege: processing branch declares the property",
    ),
    "legacy_rate_limit": (  # a rules file answers the page example with the rate-limit reply
        "smoke",
        ("img_mixer",),
        "img_mixer reply.messege: error branch declares the property",
    ),
    "processing_output_string": (
        "stateful",
        ("img_mixer", "fetch_v6"),
        "img_mixer reply.output: processing branch type array",
    ),
    "proxy_links_empty_string": (
        "stateful",
        ("magic_mix_enterprise", "fetch_enterprise"),
        "magic_mix_enterprise reply.proxy_links: processing branch type array",
    ),
    "laravel_validation_object": (
        "ranges",
        ("img_mixer",),
        "img_mixer reply.message: error branch type string",
    ),
    "eta_float": (
        "stateful",
        ("magic_mix_enterprise", "fetch_enterprise"),
        "magic_mix_enterprise reply.eta: processing branch type integer",
    ),
    "v5_fetch_result_v3": (
        "stateful",
        ("magic_mix_v5", "fetch_v5"),
        "magic_mix_v5 reply.fetch_result: is the linked fetch URL",
    ),
    "escaped_slashes": ("smoke", ("img_mixer",), "img_mixer reply: slashes are not escaped in JSON"),
}


def test_every_quirk_the_mock_knows_has_an_expected_finding() -> None:
    assert sorted(EXPECTED) == sorted(quirk.name for quirk in QUIRKS)


@pytest.mark.parametrize("quirk", sorted(EXPECTED))
def test_quirk_is_reported(quirk: str, tmp_path: Path) -> None:
    tier, operations, expected = EXPECTED[quirk]
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: [{operation: img_mixer, when: {steps: 41}, then: {example: error_rate_limit}}]")
    settings = mock_settings(profile="observed", quirks=(quirk,))
    if quirk == "legacy_rate_limit":  # the audit never provokes the queue limit itself
        settings = replace(settings, rules_file=str(rules))
    with running_server(create_app(settings)) as url:
        result = audit(url, tiers=(tier,), operations=operations)
    keys = [finding.key for finding in result.findings]
    if quirk == "legacy_rate_limit":
        assert expected in keys
        assert "img_mixer reply.tips: error branch declares the property" in keys
    else:
        assert keys == [expected]
