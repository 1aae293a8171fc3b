"""What CI installs and runs: pyproject's lower bounds, the lowest-release constraints, the README's commands.

`.ci/run` installs `.ci/lowest.txt` as constraints in its second step: that file must pin every lower bound
of pyproject.toml at exactly that version, and nothing else, or the step tests something pyproject does not
claim. Its first step runs the README's quick-start commands as written (`.ci/quickstart.py`).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
CONSTRAINTS = ROOT / ".ci" / "lowest.txt"
CPU_INDEX = "--index-url https://download.pytorch.org/whl/cpu"
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


def quickstart(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "quickstart.py"), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_readme_test_command_installs_cpu_torch_before_the_extras() -> None:
    command = " ".join(quickstart("show", "test").split())
    torch, _, rest = command.partition(CPU_INDEX)
    assert "pip install torch==" in torch, f"Received {command!r}; Expected torch from {CPU_INDEX} first"
    assert 'pip install --upgrade ".[test,reference]"' in rest
    assert command.endswith("python -m pytest")


def release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def test_readme_torch_is_allowed_by_pyproject() -> None:
    """CI installs the README's torch in both steps: the newest step's command, and the lowest step's."""
    readme_torch = quickstart("show", "torch").split("torch==", 1)[1].split()[0]
    (torch,) = [requirement for requirement in requirements() if requirement.name == "torch"]
    floor = torch.lower_bound()
    assert floor is not None
    assert release(readme_torch) >= release(floor), f"torch=={readme_torch} is below pyproject's {floor}"
    assert torch.specifiers == (f">={floor}",), f"Received {torch.specifiers}; Expected only a lower bound"


def test_readme_mock_command_installs_the_clone_and_serves() -> None:
    assert quickstart("show", "mock").endswith("pip install . && mixmock serve")


def test_quickstart_rejects_an_unknown_request() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / ".ci" / "quickstart.py"), "show", "docs"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "quickstart.py show test" in result.stderr


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


NO_SKIPS = ROOT / ".ci" / "no_skips.py"
CASE = '<testcase classname="tests.unit.test_x" name="test_{name}">{body}</testcase>'
REPORTS = {
    "ran": ('<testsuite tests="1">' + CASE.format(name="a", body="") + "</testsuite>", ""),
    "none collected": ('<testsuites><testsuite tests="0"></testsuite></testsuites>', "counts no test"),
    "skipped": (
        '<testsuite tests="2">'
        + CASE.format(name="a", body="")
        + CASE.format(name="b", body='<skipped type="pytest.skip" message="torch missing"/>')
        + "</testsuite>",
        "tests.unit.test_x::test_b: torch missing",
    ),
    "xfail": (
        '<testsuite tests="1">'
        + CASE.format(name="a", body='<skipped type="pytest.xfail" message="known"/>')
        + "</testsuite>",
        "",
    ),
}


@pytest.mark.parametrize(("report", "complaint"), REPORTS.values(), ids=REPORTS.keys())
def test_no_skips_fails_a_run_that_skipped_or_ran_nothing(
    tmp_path: Path, report: str, complaint: str
) -> None:
    path = tmp_path / "report.xml"
    path.write_text(report, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(NO_SKIPS), str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == (1 if complaint else 0), result.stdout + result.stderr
    assert complaint in result.stderr
