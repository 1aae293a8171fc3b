"""JUnit XML for CI: one suite per operation, one test case per check; failures = the console's count.

A check that passed is a passing case. A finding is a case of its own: a failure when it fails the
run, skipped when it is only reported (an inferred constraint, or known to the baseline). A run cut
short adds an error case, "the audit ran to the end", so that CI never reads it as a pass.
"""

from __future__ import annotations

from xml.etree import ElementTree

from conformance.findings import CheckRun, Finding
from conformance.runner import AuditResult

__all__ = ["junit_report"]


def _case(suite: ElementTree.Element, operation: str, tier: str, name: str) -> ElementTree.Element:
    return ElementTree.SubElement(suite, "testcase", classname=f"audit.{tier}.{operation}", name=name)


def _reason(result: AuditResult, finding: Finding) -> str:
    if finding.key in result.baseline:
        return "known: the baseline lists it"
    return f"reported: an {finding.provenance} constraint (--fail-on inferred fails it)"


def _check_cases(result: AuditResult, suite: ElementTree.Element, check: CheckRun) -> tuple[int, int]:
    """The cases of one check; returns (failures, skipped)."""
    by_key = {finding.key: finding for finding in result.findings}
    failing = {finding.key for finding in result.failing}
    owned = [by_key[key] for key in check.findings if key in by_key and by_key[key].check == check.check]
    tier = check.tiers[0] if check.tiers else "audit"
    if not check.findings:
        case = _case(suite, check.operation, tier, check.check)
        if check.skipped:
            ElementTree.SubElement(case, "skipped", message=check.skipped)
            return 0, 1
        return 0, 0
    if not owned:
        case = _case(suite, check.operation, tier, check.check)
        message = f"found {', '.join(check.findings)}, reported under the check that found it first"
        ElementTree.SubElement(case, "skipped", message=message)
        return 0, 1
    failures = skipped = 0
    for finding in owned:
        case = _case(suite, check.operation, finding.tier, finding.key)
        text = f"{finding} [{finding.provenance}]" + (f"\n{finding.curl}" if finding.curl else "")
        if finding.key in failing:
            ElementTree.SubElement(case, "failure", message=str(finding)).text = text
            failures += 1
        else:
            ElementTree.SubElement(case, "skipped", message=f"{_reason(result, finding)}: {finding}")
            skipped += 1
    return failures, skipped


def junit_report(result: AuditResult) -> str:
    root = ElementTree.Element("testsuites", name="mixmock audit")
    properties = ElementTree.SubElement(root, "properties")
    for name, value in (
        ("verdict", result.verdict),
        ("target", result.config.origin),
        ("seed", str(result.config.seed)),
    ):
        ElementTree.SubElement(properties, "property", name=name, value=value)
    operations = list(dict.fromkeys([*result.operations, *(check.operation for check in result.checks)]))
    total_failures = 0
    for operation in operations:
        suite = ElementTree.SubElement(root, "testsuite", name=operation)
        failures = skipped = 0
        for check in (item for item in result.checks if item.operation == operation):
            counts = _check_cases(result, suite, check)
            failures, skipped = failures + counts[0], skipped + counts[1]
        errors = 0
        if result.incomplete:
            case = _case(suite, operation, "audit", "the audit ran to the end")
            ElementTree.SubElement(case, "error", message=f"incomplete: {result.incomplete}")
            errors = 1
        suite.set("tests", str(len(suite.findall("testcase"))))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        suite.set("skipped", str(skipped))
        total_failures += failures
    root.set("failures", str(total_failures))
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
