from __future__ import annotations

from pathlib import Path

import pytest

from conformance.findings import Finding, Ledger, load_baseline, write_baseline

pytestmark = pytest.mark.unit
ABOVE = Finding("img_mixer", "guidance_scale", "maximum 20", "21", "accepted", "ranges")


def test_finding_text_names_operation_parameter_constraint_and_value() -> None:
    assert str(ABOVE) == "img_mixer guidance_scale: maximum 20, sent 21, accepted"


def test_one_finding_per_parameter_and_constraint() -> None:
    ledger = Ledger()
    for finding in (
        ABOVE,
        Finding("img_mixer", "guidance_scale", "maximum 20", "99", "accepted", "full"),
        Finding("img_mixer", "guidance_scale", "minimum 1", "0", "accepted", "ranges"),
    ):
        ledger.add(finding)
    assert [finding.sent for finding in ledger.findings()] == ["21", "0"]
    assert ledger.repeats == {ABOVE.key: 1}


def test_every_check_that_ran_is_listed_with_what_it_found() -> None:
    ledger = Ledger()
    ledger.ran("img_mixer", "not a server error", "smoke")
    ledger.ran("img_mixer", "not a server error", "ranges")
    ledger.ran("fetch_v6", "a finished job stays fetchable", "stateful")
    ledger.add(ABOVE, "guidance_scale: maximum 20")
    ledger.skip(
        "img_mixer", "output images: count, format and size", "smoke", "cdn.example is not the audited origin"
    )
    checks = {(check.operation, check.check): check for check in ledger.checks()}
    server = checks[("img_mixer", "not a server error")]
    assert (server.runs, server.tiers, server.passed) == (2, ("smoke", "ranges"), True)
    assert checks[("img_mixer", "guidance_scale: maximum 20")].findings == (ABOVE.key,)
    skipped = checks[("img_mixer", "output images: count, format and size")]
    assert not skipped.passed
    assert skipped.skipped.startswith("cdn.example")
    assert checks[("fetch_v6", "a finished job stays fetchable")].passed


def test_baseline_round_trip_and_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_baseline(path, [ABOVE])
    assert load_baseline(path) == {ABOVE.key: ABOVE}
    path.write_text('{"findings": [{"key": "img_mixer steps: maximum 50"}]}', encoding="utf-8")
    known = load_baseline(path)["img_mixer steps: maximum 50"]
    assert (known.operation, known.subject, known.constraint) == ("img_mixer", "steps", "maximum 50")
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="not a mixmock audit baseline"):
        load_baseline(path)
