"""The command line end to end: reports, exit codes 0 / 1 / 2 / 3, baselines, dry runs, progress, and the
key never written anywhere, whatever it looks like."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from conformance.cli import KEY_ENV, main
from mock_server.tooling.testing import free_port
from tests.conformance.clone import Clone

pytestmark = pytest.mark.conformance

SECRET = "sk-live-7f3a9c0e-never-print-me"
FAST = ["--poll-interval", "0.02", "--job-timeout", "5", "--webhook-timeout", "3", "--fuzz-examples", "2"]


def _run(url: str, *args: str, key: str | None = None) -> list[str]:
    return ["--base-url", url, *(["--key", key] if key else []), *FAST, *args]


def _reports(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in directory.iterdir()}


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for name, item in value.items() for text in [name, *_strings(item)]]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


def _xml_strings(root: ElementTree.Element) -> list[str]:
    return [text for element in root.iter() for text in [*(element.attrib.values()), element.text or ""]]


class _Texts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.texts.extend(value or "" for _, value in attrs)


def _html_strings(text: str) -> list[str]:
    parser = _Texts()
    parser.feed(text)
    return parser.texts


def test_no_report_contains_the_key(
    clone: tuple[Clone, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target, url = clone
    target.reset("leaks_key", key=SECRET)
    monkeypatch.setenv(KEY_ENV, SECRET)
    tiers = "smoke,ranges,full,stateful"
    code = main(
        _run(
            url,
            "--tier",
            tiers,
            "--operations",
            "img_mixer,fetch_v6",
            "--webhooks",
            "--report-dir",
            str(tmp_path),
        )
    )
    out, err = capsys.readouterr()
    assert code == 0  # the one finding is on an inferred constraint (prompt minLength)
    written = _reports(tmp_path)
    assert sorted(written) == ["audit.html", "audit.json", "cassette.ndjson", "junit.xml"]
    for text in [out, err, *written.values()]:
        assert SECRET not in text
    exchanges = [json.loads(line) for line in written["cassette.ndjson"].splitlines()]
    assert len(exchanges) == json.loads(written["audit.json"])["requests"]
    assert [entry["seq"] for entry in exchanges] == list(range(1, len(exchanges) + 1))
    keyed = [entry["request"] for entry in exchanges if isinstance(entry["request"], dict)]
    assert {request["key"] for request in keyed if "key" in request} == {
        "$MIXMOCK_AUDIT_KEY",
        "mixmock-audit-wrong-key",
    }
    assert any(entry["reply"].get("bytes", 0) > 0 for entry in exchanges if entry["method"] == "GET")
    report = json.loads(written["audit.json"])
    (finding,) = report["findings"]
    rejected = 'rejected: "The prompt a is reserved. [for account [Filtered]-live]"'
    assert finding["text"] == f'img_mixer prompt: minLength 1, sent "a", {rejected}'
    assert finding["provenance"] == "inferred"
    assert finding["fails"] is False
    assert exchanges[finding["cassette_line"] - 1]["request"]["prompt"] == "a"
    assert finding["curl"].startswith("curl -sS -X POST ")
    assert "'\"$MIXMOCK_AUDIT_KEY\"'" in finding["curl"]


@pytest.mark.parametrize("key", ["true", "null", "1", "status", "testsuite", "a.b*c+(", 'q"u<o>&te'])
def test_a_key_that_is_a_common_word_leaves_every_report_valid(
    key: str, clone: tuple[Clone, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target, url = clone
    target.reset("leaks_key", key=key)
    code = main(
        _run(
            url,
            "--tier",
            "smoke,ranges",
            "--operations",
            "img_mixer",
            "--quiet",
            "--report-dir",
            str(tmp_path),
            key=key,
        )
    )
    capsys.readouterr()
    assert code == 0
    written = _reports(tmp_path)
    document = json.loads(written["audit.json"])
    root = ElementTree.fromstring(written["junit.xml"])
    entries = [json.loads(line) for line in written["cassette.ndjson"].splitlines()]
    assert document["verdict"] == "conformant"
    assert root.tag == "testsuites"
    assert entries
    leaked = f"account {key}-live"
    for strings in (
        _strings(document),
        _xml_strings(root),
        _strings(entries),
        _html_strings(written["audit.html"]),
    ):
        assert not [text for text in strings if leaked in text]
    assert "[for account [Filtered]-live]" in document["findings"][0]["text"]


def test_exit_codes_and_the_junit_failure_count(
    clone: tuple[Clone, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target, url = clone
    assert main(_run(url, "--tier", "smoke", "--quiet", key=target.key)) == 0
    assert capsys.readouterr().out.rstrip().endswith("CONFORMANT")
    target.reset("every_job_fails")
    code = main(_run(url, "--tier", "smoke", "--quiet", "--report-dir", str(tmp_path), key=target.key))
    out = capsys.readouterr().out
    assert code == 1
    failing = int(re.search(r"(\d+) finding\(s\) fail the run", out).group(1))  # type: ignore[union-attr]
    assert failing == 3
    root = ElementTree.fromstring((tmp_path / "junit.xml").read_text(encoding="utf-8"))
    assert int(root.get("failures", "-1")) == failing
    assert len(root.findall(".//failure")) == failing
    names = {case.get("name") for case in root.iter("testcase")}
    assert "the reply matches the branch its status names" in names  # a passing check is a case too
    assert out.rstrip().endswith("NOT CONFORMANT: 3 finding(s) fail the run")


def test_a_run_cut_short_is_incomplete_in_every_report(
    clone: tuple[Clone, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target, url = clone
    code = main(
        _run(
            url,
            "--tier",
            "smoke,ranges",
            "--budget",
            "7",
            "--quiet",
            "--report-dir",
            str(tmp_path),
            key=target.key,
        )
    )
    out = capsys.readouterr().out
    assert code == 3
    assert "INCOMPLETE: the budget of 7 requests is spent" in out
    written = _reports(tmp_path)
    report = json.loads(written["audit.json"])
    assert report["verdict"] == "incomplete"
    assert report["conformant"] is False
    assert report["requests"] == 7
    errors = ElementTree.fromstring(written["junit.xml"]).findall(".//error")
    assert errors
    assert "incomplete: the budget of 7 requests is spent" in errors[0].get("message", "")
    assert "INCOMPLETE: the budget of 7 requests is spent" in written["audit.html"]


def test_a_run_past_its_time_limit_is_incomplete(
    clone: tuple[Clone, str], capsys: pytest.CaptureFixture[str]
) -> None:
    target, url = clone
    code = main(_run(url, "--tier", "smoke,ranges", "--max-time", "0.3", "--quiet", key=target.key))
    assert code == 3
    assert "INCOMPLETE: the time limit of 0.3 s is reached" in capsys.readouterr().out


def test_baseline_new_fixed_and_unchanged(
    clone: tuple[Clone, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target, url = clone
    baseline, reports = tmp_path / "known.json", tmp_path / "reports"
    common = ["--tier", "smoke", "--operations", "img_mixer,fetch_v6", "--quiet", "--baseline", str(baseline)]
    target.reset("seed_not_echoed")
    assert main(_run(url, *common, key=target.key)) == 2  # the baseline does not exist yet
    assert "does not exist (add --write-baseline" in capsys.readouterr().err
    assert main(_run(url, *common, "--write-baseline", key=target.key)) == 0
    assert main(_run(url, *common, key=target.key)) == 0  # only known findings
    target.reset("transposed")
    assert main(_run(url, *common, "--report-dir", str(reports), key=target.key)) == 1
    capsys.readouterr()
    report = json.loads((reports / "audit.json").read_text(encoding="utf-8"))
    assert report["fixed_findings"] == ["img_mixer reply.meta.seed: echoes seed"]
    assert [f["key"] for f in report["findings"] if f["status"] == "new"] == [
        "img_mixer reply.output: images have the requested size"
    ]
    html = (reports / "audit.html").read_text(encoding="utf-8")
    assert "Against the baseline" in html
    assert "fixed (1)" in html
    assert "new (1)" in html
    assert "unchanged (0)" in html


def test_the_html_report_shows_the_verdict_every_operation_and_the_passes(
    clone: tuple[Clone, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target, url = clone
    target.reset("transposed")
    main(
        _run(
            url,
            "--tier",
            "smoke,stateful",
            "--webhooks",
            "--quiet",
            "--report-dir",
            str(tmp_path),
            key=target.key,
        )
    )
    capsys.readouterr()
    html = (tmp_path / "audit.html").read_text(encoding="utf-8")
    assert "Not conformant" in html
    assert "Legend" in html
    assert "budget used" in html
    assert "corpus" in html
    for operation in (
        "img_mixer",
        "fetch_v6",
        "magic_mix_enterprise",
        "fetch_enterprise",
        "magic_mix_v5",
        "fetch_v5",
    ):
        assert f'id="op-{operation}"' in html
    for check in (
        "the page example&#x27;s job ends in success",
        "a finished job stays fetchable",
        "the same seed gives the same images",
        "the webhook is delivered once per job",
    ):
        assert check in html
    assert html.count("&#10003; passed") > 20
    assert 'href="#x' in html
    assert "curl" in html


def test_dry_run_lists_each_tier_and_sends_nothing(
    clone: tuple[Clone, str], capsys: pytest.CaptureFixture[str]
) -> None:
    target, url = clone
    code = main(["--base-url", url, "--tier", "smoke,ranges,stateful", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert target.received == 0
    counts = dict(re.findall(r"^(smoke|ranges|stateful): (\d+) requests$", out, flags=re.MULTILINE))
    assert set(counts) == {"smoke", "ranges", "stateful"}
    assert int(counts["ranges"]) > 300
    assert "POST /api/v6/image_editing/img_mixer  steps: maximum 50, 51" in out
    assert re.search(r"^total: \d+ requests, plus what the replies decide", out, flags=re.MULTILINE)


def test_progress_is_a_line_per_tier_off_a_terminal(
    clone: tuple[Clone, str], capsys: pytest.CaptureFixture[str]
) -> None:
    target, url = clone
    assert (
        main(_run(url, "--tier", "smoke,stateful", "--operations", "img_mixer,fetch_v6", key=target.key)) == 0
    )
    lines = capsys.readouterr().err.splitlines()
    assert [line.split()[0] for line in lines if re.match(r"^\w+ +\d+ requests +[\d.]+ s$", line)] == [
        "smoke",
        "stateful",
    ]


def test_an_unreachable_target_exits_2_before_sending(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["--base-url", url, "--key", "k", "--tier", "smoke", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach {url}: no connection to 127.0.0.1" in err
    assert "Traceback" not in err
