"""JUnit XML for CI: one test suite per operation; ranges probes and findings as test cases."""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree

from conformance.runner import AuditResult

__all__ = ["junit_report"]


def junit_report(result: AuditResult) -> str:
    root = ElementTree.Element("testsuites", name="mixmock audit")
    cases: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for operation in result.operations:
        cases[operation].append(("contract", None))
    for item in result.observations:
        name = f"ranges {item.parameter}: {item.constraint}, sent {item.sent}, expected {item.expected}"
        failure = None if item.conforms else f"{item.operation} {name}, {item.observed}"
        cases[item.operation].append((name, failure))
    for finding in result.findings:
        cases[finding.operation].append((f"{finding.tier} {finding.key}", str(finding)))
    for operation, entries in cases.items():
        suite = ElementTree.SubElement(root, "testsuite", name=operation, tests=str(len(entries)))
        failures = 0
        for name, failure in entries:
            case = ElementTree.SubElement(suite, "testcase", classname=f"audit.{operation}", name=name)
            if failure is not None:
                failures += 1
                ElementTree.SubElement(case, "failure", message=failure).text = failure
        suite.set("failures", str(failures))
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
