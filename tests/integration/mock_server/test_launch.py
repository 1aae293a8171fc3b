"""`mixmock serve` as a user launches it: the startup block, the contract served from the running mock, and
the per-launch store removed when the server stops (one process, `--workers 2`, and after a crash)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis.core.result import Ok

from openapi import SPECS
from tests.integration.servers import launch
from tests.unit.mock_server.bodies import CREATE_PATHS, valid_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def stores(tmp_dir: Path) -> list[str]:
    folder = tmp_dir / "mixmock"
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def create(base_url: str) -> None:
    reply = httpx.post(base_url + CREATE_PATHS["img_mixer"], json=valid_body("img_mixer"), timeout=30)
    assert reply.json()["status"] == "success"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_launch_says_what_it_serves_and_takes_its_store_with_it(tmp_path: Path, workers: str) -> None:
    with launch(tmp_path, "--workers", workers) as server:
        for _ in range(4):
            create(server.base_url)
        in_use = stores(tmp_path)
        assert any(name.endswith(".sqlite3") for name in in_use)
    block = server.text()
    assert "POST /api/v6/image_editing/img_mixer" in block
    assert "/openapi/v6.yaml" in block
    assert "removed when the server stops" in block
    assert block.count("serves the vendor's routes") == 1  # once per launch, not once per worker
    assert stores(tmp_path) == []


def test_the_stores_of_a_killed_launch_are_removed_by_the_next(tmp_path: Path) -> None:
    with launch(tmp_path) as killed:
        create(killed.base_url)
        os.kill(killed.process.pid, signal.SIGKILL)
        killed.process.wait(timeout=30)
    left = stores(tmp_path)
    assert any(name.startswith(f"jobs-{killed.process.pid}-") for name in left)
    with launch(tmp_path) as next_launch:
        create(next_launch.base_url)
        now = stores(tmp_path)
        assert not any(name.startswith(f"jobs-{killed.process.pid}-") for name in now)
        assert any(name.startswith(f"jobs-{next_launch.process.pid}-") for name in now)
    assert "removed 1 stale store" in next_launch.text()
    assert stores(tmp_path) == []


def test_a_named_store_outlives_the_launch(tmp_path: Path) -> None:
    store = tmp_path / "jobs.sqlite3"
    with launch(tmp_path, "--store", str(store)) as server:
        create(server.base_url)
    assert store.exists()


def test_the_running_mock_serves_its_contract_to_schemathesis(tmp_path: Path) -> None:
    with launch(tmp_path) as server:
        index = httpx.get(server.base_url + "/").json()
        for name, url in index["specs"].items():
            assert httpx.get(url).content == SPECS[name].path.read_bytes()
            schema = schemathesis.openapi.from_url(url)
            results = list(schema.get_all_operations())
            assert all(isinstance(result, Ok) for result in results), results
            operations = {result.ok().label for result in results if isinstance(result, Ok)}
            assert any(label.startswith("POST /") for label in operations), operations
