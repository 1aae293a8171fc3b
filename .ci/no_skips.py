"""Fail when a pytest run (its JUnit XML report) ran no test, or skipped any.

    python3 .ci/no_skips.py REPORT.xml

In CI every extra is installed and ../shared is beside the clone, so a skip means something is missing
(torch not importable, the vendor page snapshots not found...) and the tests that need it did not run:
that must fail the job rather than pass quietly. Standard library only.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def skipped(report: str) -> tuple[int, list[str]]:
    """(tests counted, one line per skipped test: `id: reason`)."""
    root = ET.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = sum(int(suite.get("tests", "0")) for suite in suites)
    lines = []
    for case in root.iter("testcase"):
        for skip in case.findall("skipped"):
            if skip.get("type") == "pytest.xfail":  # an expected failure, declared in the test: it ran
                continue
            test = f"{case.get('classname', '')}::{case.get('name', '')}"
            lines.append(f"{test}: {skip.get('message', '').strip()}")
    return total, lines


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    total, lines = skipped(argv[0])
    if total == 0:
        print(f"no_skips: {argv[0]} counts no test", file=sys.stderr)
        return 1
    if lines:
        print(f"no_skips: {len(lines)} of {total} tests skipped in CI:", file=sys.stderr)
        print("\n".join(f"  {line}" for line in lines), file=sys.stderr)
        return 1
    print(f"no_skips: {total} tests, none skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
