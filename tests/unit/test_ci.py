"""What CI installs: pyproject's lower bounds and the lowest-release constraints; install hints that work.

`.ci/lowest.txt` is installed as constraints to test the lowest releases pyproject.toml allows: it must pin
every lower bound at exactly that version, and nothing else, or it tests something pyproject does not claim.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
CONSTRAINTS = ROOT / ".ci" / "lowest.txt"
REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*(?P<specifiers>[^;]*)$")


@dataclass(frozen=True)
class Requirement:
    """`uvicorn[standard]>=0.50.0` as its normalised name and its specifiers (`>=0.50.0`)."""

    name: str
    specifiers: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Requirement:
        match = REQUIREMENT.match(text.strip())
        assert match is not None, f"Received {text!r}; Expected name[extras] followed by specifiers"
        name = re.sub(r"[-_.]+", "-", match["name"]).lower()
        specifiers = tuple(part.replace(" ", "") for part in match["specifiers"].split(",") if part.strip())
        return cls(name, specifiers)

    def lower_bound(self) -> str | None:
        """The version after `>=` or `==`, written as in pyproject (`0.50.0`)."""
        bounds = [spec[2:] for spec in self.specifiers if spec.startswith((">=", "=="))]
        assert len(bounds) <= 1, f"{self.name}: more than one lower bound in {self.specifiers}"
        return bounds[0] if bounds else None


def requirements() -> list[Requirement]:
    """Every requirement of the project and its extras, except the extras' references to the project."""
    lines = list(PROJECT["dependencies"])
    for extra in PROJECT["optional-dependencies"].values():
        lines += extra
    return [Requirement.parse(line) for line in lines if Requirement.parse(line).name != PROJECT["name"]]


def pins() -> dict[str, str]:
    pinned: dict[str, str] = {}
    for number, raw in enumerate(CONSTRAINTS.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement.parse(line)
        where = f"{CONSTRAINTS.name}:{number}"
        assert len(requirement.specifiers) == 1, f"{where}: {raw!r} is not one exact pin (name==version)"
        assert requirement.specifiers[0].startswith("=="), f"{where}: {raw!r} is not an exact pin"
        assert requirement.name not in pinned, f"{where}: {requirement.name} pinned twice"
        pinned[requirement.name] = requirement.specifiers[0][2:]
    return pinned


def test_every_requirement_has_a_lower_bound() -> None:
    unbounded = [requirement.name for requirement in requirements() if requirement.lower_bound() is None]
    assert not unbounded, f"Received {unbounded} without >= or ==; Expected a lower bound on each"


def test_constraints_pin_exactly_the_lower_bounds() -> None:
    bounds = {requirement.name: requirement.lower_bound() for requirement in requirements()}
    pinned = pins()
    missing = {name: str(bound) for name, bound in bounds.items() if name not in pinned}
    extra = sorted(set(pinned) - set(bounds))
    differ = {
        name: f"pyproject >= {bounds[name]}, pinned {version}"
        for name, version in pinned.items()
        if name in bounds and bounds[name] != version
    }
    assert not missing, f"lower bounds with no pin in {CONSTRAINTS.name}: {missing}"
    assert not extra, f"pins in {CONSTRAINTS.name} that pyproject.toml does not require: {extra}"
    assert not differ, f"pins that are not the lower bound: {differ}"


UNPUBLISHED = re.compile(r"""pip install\s+(?:-\S+\s+)*['"]?mixmock\b""")


def test_install_hints_name_installs_that_work_from_a_clone() -> None:
    """mixmock is not on PyPI: a hint says `pip install '.[audit]'`, never `pip install 'mixmock[audit]'`."""
    texts = [*ROOT.glob("*.md"), *ROOT.glob("*/README.md")]
    for package in ("openapi", "mock_server", "conformance", "bench", "docker"):
        texts += (ROOT / package).rglob("*.py")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in texts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if UNPUBLISHED.search(line)
    ]
    assert not found, f"install hints naming an unpublished package: {found}"
