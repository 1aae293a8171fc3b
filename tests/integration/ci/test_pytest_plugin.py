"""The pytest plugin as a client's suite uses it: a separate pytest run with the plugin loaded."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

README = Path(__file__).resolve().parents[3] / "README.md"
MARKER = "<!-- mixmock-plugin-example -->"

CLIENT_SUITE = textwrap.dedent(
    """
    import httpx
    import pytest

    BODY = {"key": "k", "prompt": "rose man", "init_image": ["https://img.example/a.png"], "steps": 41}
    CREATE = "/api/v6/image_editing/img_mixer"


    def test_reset_between_tests_starts_empty(mixmock):
        assert mixmock.requests() == []
        httpx.post(mixmock.url(CREATE), json=BODY)
        assert len(mixmock.requests(operation="img_mixer")) == 1


    def test_each_test_starts_from_a_clean_journal(mixmock):
        assert mixmock.requests() == []


    def test_ratios_and_filters(mixmock):
        mixmock.ratios(error=1.0)
        reply = httpx.post(mixmock.url(CREATE), json={**BODY, "steps": 7}).json()
        assert reply["status"] == "error"
        (entry,) = mixmock.requests(operation="img_mixer", **{"body.steps": 7})
        assert entry["body"]["key"] == "[redacted]"
        assert entry["why"] == "ratio"
        assert mixmock.requests(operation="img_mixer", **{"body.steps": 8}) == []


    def test_a_bad_filter_names_itself(mixmock):
        with pytest.raises(ValueError, match="cannot filter on 'colour'"):
            mixmock.requests(colour="red")


    def test_in_process_variant(mixmock_asgi):
        reply = mixmock_asgi.client.post(CREATE, json=BODY).json()
        assert reply["status"] == "success"
        assert mixmock_asgi.requests(operation="img_mixer")[0]["job_id"] == reply["id"]
    """
)


def readme_example(path: Path) -> str:
    """The python block that follows the plugin-example marker in the README."""
    text = path.read_text(encoding="utf-8")
    assert MARKER in text, f"{path.name} lacks the pytest plugin example (marker {MARKER})"
    found = re.search(r"```python\n(.*?)```", text.split(MARKER, 1)[1], re.DOTALL)
    assert found is not None, f"no python block after {MARKER} in {path.name}"
    return found.group(1)


def plugin_option() -> list[str]:
    """Load the plugin by its entry point when the package is installed with it, else by module."""
    names = {entry.name for entry in importlib.metadata.entry_points(group="pytest11")}
    return [] if "mixmock" in names else ["-p", "mock_server.tooling.pytest_plugin"]


def run_suite(
    folder: Path, source: str, *options: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    (folder / "test_client.py").write_text(source, encoding="utf-8")
    command = [
        *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options),
        *plugin_option(),
        str(folder),
    ]
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3]), **(env or {})}
    return subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=150)


def test_the_readme_example_passes(tmp_path: Path) -> None:
    example = readme_example(README)
    assert len(example.strip().splitlines()) <= 12
    result = run_suite(tmp_path, example)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_the_fixtures_reset_filter_and_run_in_process(tmp_path: Path) -> None:
    result = run_suite(tmp_path, CLIENT_SUITE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


STRICT_SUITE = textwrap.dedent(
    """
    import sys

    sys.modules["httpx2"] = None  # as where only httpx is installed: Starlette's TestClient would warn


    def test_in_process_fixture_under_warnings_as_errors(mixmock_asgi):
        reply = mixmock_asgi.client.post(
            "/api/v6/image_editing/img_mixer",
            json={"key": "k", "prompt": "rose man", "init_image": ["https://img.example/a.png"]},
        )
        assert reply.json()["status"] == "success"
        assert mixmock_asgi.requests(operation="img_mixer")[0]["job_id"] == reply.json()["id"]
    """
)


def test_the_in_process_fixture_adds_no_warning(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text("", encoding="utf-8")
    result = run_suite(tmp_path, STRICT_SUITE, "-W", "error")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


RULES_SUITE = textwrap.dedent(
    """
    import httpx

    BODY = {"key": "k", "prompt": "slow rose", "init_image": ["https://img.example/a.png"]}
    CREATE = "/api/v6/image_editing/img_mixer"


    def test_a_rule_for_this_test(mixmock):
        added = mixmock.rule({"scenario": "processing"}, when={"prompt": {"contains": "slow"}}, name="slow")
        assert httpx.post(mixmock.url(CREATE), json=BODY).json()["status"] == "processing"
        assert [rule["id"] for rule in mixmock.rules()] == [added["id"]]
        mixmock.remove_rule("slow")
        assert httpx.post(mixmock.url(CREATE), json=BODY).json()["status"] == "success"
        mixmock.rule({"scenario": "failed"})


    def test_the_next_test_starts_without_rules(mixmock):
        assert mixmock.rules() == []
        assert httpx.post(mixmock.url(CREATE), json=BODY).json()["status"] == "success"
    """
)


def test_rules_are_added_per_test_and_reset_between_tests(tmp_path: Path) -> None:
    result = run_suite(tmp_path, RULES_SUITE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


# Every test of this suite creates jobs, sets defaults and a rule, and checks that the journal and the
# jobs it sees are exactly its own, while the other tests do the same at the same moment (`-n 4`).
SESSIONS_SUITE = textwrap.dedent(
    """
    import httpx
    import pytest

    BODY = {"key": "k", "prompt": "rose man", "init_image": ["https://img.example/a.png"]}
    CREATE = "/api/v6/image_editing/img_mixer"


    @pytest.mark.parametrize("steps", range(1, 13))
    def test_a_test_sees_only_its_own_session(mixmock, steps, request):
        *run, worker, _ = mixmock.session.split("-")
        assert worker.startswith(("gw", "main"))
        shared = request.config.getoption("mixmock_url") is not None  # then the run's token comes first
        assert [len(token) for token in run] == ([8] if shared else [])
        assert mixmock.requests() == []
        mixmock.prefer(f"polls=0, eta={steps}")
        mixmock.ratios(processing=1.0)
        mixmock.rule({"scenario": "error"}, when={"prompt": {"contains": f"fail-{steps}"}})
        ids = []
        for _ in range(3):
            reply = httpx.post(mixmock.url(CREATE), json={**BODY, "steps": steps}).json()
            assert reply["status"] == "processing"
            assert reply["eta"] == steps  # this test's defaults, not another's
            ids.append(reply["id"])
        failed = httpx.post(mixmock.url(CREATE), json={**BODY, "prompt": f"fail-{steps}"}).json()
        assert failed["status"] == "error"
        by_header = httpx.post(mixmock.server_url + CREATE, json=BODY, headers=mixmock.headers).json()
        ids.append(by_header["id"])
        entries = mixmock.requests(operation="img_mixer")
        assert [e["body"].get("steps") for e in entries] == [steps] * 3 + [None, None]
        assert {e["session"] for e in entries} == {mixmock.session}
        assert sorted(job["id"] for job in mixmock.jobs()) == sorted(ids)
        done = httpx.post(reply["fetch_result"], json={"key": "k"}).json()
        assert done["status"] == "success"
        for other in (mixmock.in_session("elsewhere"), mixmock.in_session("")):
            fetch = other.url(f"/api/v6/image_editing/fetch/{ids[0]}")
            assert httpx.post(fetch, json={"key": "k"}).json()["message"] == "Request not found"
            image = "/generations/" + done["output"][0].rsplit("/generations/", 1)[1]
            assert httpx.get(other.url(image)).status_code == 404
            assert ids[0] not in [job["id"] for job in other.jobs()]
    """
)


@pytest.mark.parametrize(
    "workers", [pytest.param(["-n", "4"], id="xdist-4"), pytest.param([], id="one-process")]
)
def test_parallel_tests_on_one_mock_see_only_their_own_session(tmp_path: Path, workers: list[str]) -> None:
    from tests.integration.servers import serve

    with serve("--store", str(tmp_path / "shared.sqlite3")) as (base_url, _):  # one mock for every worker
        result = run_suite(tmp_path, SESSIONS_SUITE, *workers, "--mixmock-url", base_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 passed" in result.stdout


def test_each_worker_may_also_start_its_own_mock(tmp_path: Path) -> None:
    result = run_suite(tmp_path, SESSIONS_SUITE, "-n", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 passed" in result.stdout


def test_a_mixmock_url_that_is_no_url_is_a_usage_error(tmp_path: Path) -> None:
    result = run_suite(tmp_path, SESSIONS_SUITE, "--mixmock-url", "mock:8000")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "--mixmock-url 'mock:8000' must be an http(s) URL" in result.stdout + result.stderr
