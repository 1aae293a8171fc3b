"""An independent reimplementation with one planted defect at a time: each is caught by the tier a user
would expect, by a named finding; the correct clone gives none, and a clone that follows the vendor's
pages but not the kit's inferences passes by default."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from tests.conformance.clone import Clone
from tests.conformance.conftest import audit_clone

pytestmark = pytest.mark.conformance


@dataclass(frozen=True)
class Planted:
    defect: str
    issue_class: str  # the class of defect (issue 11's list, 1-10)
    tier: str  # the tier a user would expect to catch it ("webhooks": --webhooks)
    operations: tuple[str, ...]
    finding: str  # the key of the finding that names it


V6 = ("img_mixer", "fetch_v6")
V1 = ("magic_mix_enterprise", "fetch_enterprise")
V5 = ("magic_mix_v5", "fetch_v5")

PLANTED = (
    # 1. types
    Planted("integer_accepts_fraction", "1 types", "ranges", V6, "img_mixer width: type integer"),
    Planted("integer_rejects_integral_float", "1 types", "ranges", V6, "img_mixer width: type integer"),
    Planted("integer_accepts_numeric_string", "1 types", "ranges", V5, "magic_mix_v5 width: type integer"),
    Planted("integer_accepts_boolean", "1 types", "ranges", V1, "magic_mix_enterprise samples: type integer"),
    Planted(
        "number_accepts_numeric_string", "1 types", "ranges", V6, "img_mixer guidance_scale: type number"
    ),
    Planted("first_item_only", "1 types", "ranges", V6, "img_mixer init_image: format uri"),
    # 2. bounds
    Planted("minimum_rounded", "2 bounds", "ranges", V6, "img_mixer guidance_scale: minimum 1"),
    Planted("maximum_exclusive", "2 bounds", "ranges", V5, "magic_mix_v5 steps: maximum 50"),
    Planted("maximum_truncated", "2 bounds", "ranges", V6, "img_mixer guidance_scale: maximum 20"),
    Planted("max_items_off_by_one", "2 bounds", "ranges", V6, "img_mixer init_image: maxItems 4"),
    # 3. what the contract must tolerate
    Planted(
        "unknown_fields_rejected", "3 tolerance", "ranges", V6, "img_mixer (body): unknown fields tolerated"
    ),
    Planted("explicit_null_rejected", "3 tolerance", "ranges", V6, "img_mixer seed: type integer|null"),
    Planted("track_id_string_only", "3 tolerance", "ranges", V6, "img_mixer track_id: type integer|null"),
    Planted(
        "sdk_body_rejected",
        "3 tolerance",
        "ranges",
        V1,
        "magic_mix_enterprise (body): the sdk-py 0.2.3 MagicMixSchema body",
    ),
    # 4. bodies that are not objects
    Planted("array_body_crashes", "4 not objects", "ranges", V6, "img_mixer reply: not a server error"),
    Planted(
        "empty_body_html_error",
        "4 not objects",
        "ranges",
        V1,
        "magic_mix_enterprise reply: content type application/json",
    ),
    Planted(
        "wrong_content_type_accepted",
        "4 not objects",
        "ranges",
        V5,
        "magic_mix_v5 (body): content type application/json",
    ),
    # 5. seeds
    Planted("seed_ignored", "5 seeds", "stateful", V6, "img_mixer seed: the same seed gives the same images"),
    Planted(
        "image_ignores_seed", "5 seeds", "stateful", V5, "magic_mix_v5 seed: another seed gives other images"
    ),
    Planted(
        "seed_zero_random",
        "5 seeds",
        "stateful",
        V1,
        "magic_mix_enterprise seed: seed 0 is a seed: two requests with it give the same images",
    ),
    Planted("seed_not_echoed", "5 seeds", "smoke", V6, "img_mixer reply.meta.seed: echoes seed"),
    # 6. images
    Planted("webp_named_png", "6 images", "smoke", V6, "img_mixer reply.output: URLs are PNG or JPEG images"),
    Planted(
        "default_size_wrong",
        "6 images",
        "ranges",
        V5,
        "magic_mix_v5 reply.output: images have the requested size",
    ),
    Planted("transposed", "6 images", "smoke", V6, "img_mixer reply.output: images have the requested size"),
    Planted("samples_capped", "6 images", "ranges", V5, "magic_mix_v5 reply.output: one URL per sample"),
    # 7. the error envelope
    Planted(
        "empty_error_message",
        "7 errors",
        "ranges",
        V6,
        "img_mixer reply.message: an error message is not empty",
    ),
    Planted("message_without_field", "7 errors", "ranges", V6, "img_mixer steps: the error message names it"),
    # 8. jobs
    Planted(
        "every_job_fails", "8 jobs", "smoke", V6, "img_mixer job: the page example's job ends in success"
    ),
    Planted(
        "queued_jobs_fail", "8 jobs", "stateful", V1, "magic_mix_enterprise job: a queued job ends in success"
    ),
    Planted(
        "finished_job_forgotten", "8 jobs", "stateful", V6, "fetch_v6 job: a finished job stays fetchable"
    ),
    Planted(
        "instant_job_not_stored",
        "8 jobs",
        "smoke",
        V5,
        "fetch_v5 job: a job that finished at once can be fetched",
    ),
    Planted(
        "fetch_result_other_origin",
        "8 jobs",
        "stateful",
        V6,
        "img_mixer reply.fetch_result: is on the audited origin",
    ),
    Planted(
        "fetch_result_other_product",
        "8 jobs",
        "stateful",
        V1,
        "magic_mix_enterprise reply.fetch_result: is the linked fetch URL",
    ),
    # 9. webhooks
    Planted(
        "webhook_form_encoded",
        "9 webhooks",
        "webhooks",
        V6,
        "img_mixer webhook: content type application/json",
    ),
    Planted(
        "webhook_query_dropped",
        "9 webhooks",
        "webhooks",
        V5,
        "magic_mix_v5 webhook: is POSTed to the URL as given",
    ),
    Planted(
        "webhook_only_on_fetch",
        "9 webhooks",
        "webhooks",
        V6,
        "img_mixer webhook: is delivered when the job ends",
    ),
    Planted(
        "webhook_twice",
        "9 webhooks",
        "webhooks",
        V1,
        "magic_mix_enterprise webhook: is delivered once per job",
    ),
    Planted(
        "webhook_track_id_as_string",
        "9 webhooks",
        "webhooks",
        V6,
        "img_mixer webhook.track_id: echoes track_id with its JSON type",
    ),
    Planted(
        "webhook_refused",
        "9 webhooks",
        "webhooks",
        V5,
        "magic_mix_v5 webhook: a create with a webhook is accepted",
    ),
    # 10. beyond the page example
    Planted("fetch_returns_latest", "10 beyond", "stateful", V6, "img_mixer fetch.id: is the job's id"),
    Planted(
        "big_images_clamped",
        "10 beyond",
        "ranges",
        V6,
        "img_mixer reply.output: images have the requested size",
    ),
)


def _run(url: str, planted: Planted) -> list[str]:
    webhooks = planted.tier == "webhooks"
    tiers = ("smoke",) if webhooks else (planted.tier,)
    result = audit_clone(
        url, tiers=tiers, operations=planted.operations, webhooks=webhooks, webhook_timeout=2.0
    )
    return [finding.key for finding in result.findings]


@pytest.mark.parametrize("planted", PLANTED, ids=[planted.defect for planted in PLANTED])
def test_the_expected_tier_catches_the_planted_defect(clone: tuple[Clone, str], planted: Planted) -> None:
    target, url = clone
    target.reset(planted.defect)
    keys = _run(url, planted)
    assert planted.finding in keys, f"{planted.defect}: {keys}"


def test_every_class_of_the_issue_is_planted() -> None:
    classes = {planted.issue_class.split(" ")[0] for planted in PLANTED}
    assert classes == {str(number) for number in range(1, 11)}
    assert len({planted.defect for planted in PLANTED}) == len(PLANTED)


def test_the_correct_clone_gives_no_finding_in_any_tier(clone: tuple[Clone, str]) -> None:
    _, url = clone
    result = audit_clone(url, tiers=("smoke", "ranges", "full", "stateful"), webhooks=True)
    assert [str(finding) for finding in result.findings] == []
    assert result.verdict == "conformant"
    assert [stats.tier for stats in result.tiers] == ["smoke", "ranges", "full", "stateful", "webhooks"]
    assert all(check.passed for check in result.checks)


def test_a_clone_of_the_pages_alone_passes_by_default_and_fails_on_inferred(clone: tuple[Clone, str]) -> None:
    target, url = clone
    target.reset(pages_only=True)
    result = audit_clone(url, tiers=("ranges",), operations=("magic_mix_v5",))
    assert result.verdict == "conformant"
    assert result.failing == []
    reported = {finding.key for finding in result.reported}
    assert {
        "magic_mix_v5 prompt: minLength 1",
        "magic_mix_v5 width: maximum 1024",
        "magic_mix_v5 kmin: minimum 0",
        "magic_mix_v5 kmax,steps: rule layout-phase-runs",
        "magic_mix_v5 samples: minimum 1",
    } <= reported
    assert {finding.provenance for finding in result.reported} == {"inferred"}
    strict = audit_clone(url, tiers=("ranges",), operations=("magic_mix_v5",), fail_on="inferred")
    assert strict.verdict == "not conformant"
    assert {finding.key for finding in strict.failing} == reported


def test_the_cross_field_finding_shows_the_values_sent(clone: tuple[Clone, str]) -> None:
    target, url = clone
    target.reset(pages_only=True)
    result = audit_clone(url, tiers=("ranges",), operations=("magic_mix_enterprise",))
    rule = next(f for f in result.findings if f.constraint == "rule layout-phase-runs")
    assert re.fullmatch(r"kmax=[0-9.]+, steps=[0-9]+", rule.sent), rule.sent
    assert rule.outcome == "accepted"
    assert "kmax" in rule.curl
    assert "$MIXMOCK_AUDIT_KEY" in rule.curl
