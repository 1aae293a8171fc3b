from __future__ import annotations

from pathlib import Path

import pytest

from conformance.findings import Finding, Findings, load_baseline, write_baseline
from conformance.redact import Redactor

pytestmark = pytest.mark.unit
ABOVE = Finding("img_mixer", "guidance_scale", "maximum 20", "21", "accepted", "ranges")


def test_finding_text_names_operation_parameter_constraint_and_value() -> None:
    assert str(ABOVE) == "img_mixer guidance_scale: maximum 20, sent 21, accepted"


def test_one_finding_per_parameter_and_constraint() -> None:
    findings = Findings()
    for finding in (
        ABOVE,
        Finding("img_mixer", "guidance_scale", "maximum 20", "99", "accepted", "full"),
        Finding("img_mixer", "guidance_scale", "minimum 1", "0", "accepted", "ranges"),
    ):
        findings.add(finding)
    assert [finding.sent for finding in findings.all()] == ["21", "0"]
    assert findings.repeats == {ABOVE.key: 1}


def test_baseline_round_trip_and_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_baseline(path, [ABOVE])
    assert load_baseline(path) == {ABOVE.key}
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(ValueError, match="not a mixmock audit baseline"):
        load_baseline(path)


def test_redactor_filters_the_key_field_and_any_occurrence() -> None:
    redactor = Redactor("s3cret")
    assert redactor.data({"key": "s3cret", "msg": ["bad key s3cret"]}) == {
        "key": "[Filtered]",
        "msg": ["bad key [Filtered]"],
    }
    assert redactor.text("no secret here") == "no secret here"
