"""`mixmock worker` with the diffusers engine (tiny models, CPU) behind an API replica on one Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mock_server.tooling.redis_server import RedisServer, redis_binary, redis_server
from mock_server.tooling.testing import stop_process
from tests.integration.scale.replicas import fetch_until_done, replicas
from tests.reference.conftest import data_uri, picture

pytestmark = [
    pytest.mark.reference,
    pytest.mark.integration,
    pytest.mark.redis,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        redis_binary() is None, reason="redis-server is not installed (apt-get install redis-server)"
    ),
]

PATH = "/api/v1/enterprise/image_editing/magic_mix"


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as server:
        yield server


def start_worker(redis: RedisServer, models: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "mock_server", "worker",
        "--store", redis.url, "--store-prefix", "engine",
        "--engine", "diffusers", "--model-dir", str(models), "--device", "cpu", "--engine-lease", "5",
    ]  # fmt: skip
    with log.open("wb") as output:  # a file, not a pipe: a chatty library cannot block the worker
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=dict(os.environ))


def magic_mix(seed: int) -> dict[str, object]:
    image = data_uri(picture())
    return {"key": "k", "prompt": "Bed", "image": image, "width": 32, "height": 32, "steps": 4, "seed": seed}


def test_a_worker_renders_the_jobs_an_api_replica_queued(
    redis: RedisServer, tiny_models: Path, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    with replicas(1, redis.url, "engine", "--engine", "remote") as (api,):
        queued = [api.post(PATH, magic_mix(seed)).json() for seed in (1, 2)]  # compatible: one batch
        assert [reply["status"] for reply in queued] == ["processing", "processing"]
        assert all(reply["eta"] >= 1 for reply in queued)
        worker = start_worker(redis, tiny_models, log)
        try:
            done = [fetch_until_done(reply["fetch_result"], timeout_s=180) for reply in queued]
        finally:
            stop_process(worker)
        assert [reply["status"] for reply in done] == ["success", "success"], log.read_text()
        images = [download(reply["output"][0]) for reply in done]
    assert images[0] != images[1]  # two seeds, two pictures
    text = log.read_text()
    assert "engine worker" in text
    assert "stopped after 2 job(s)" in text
    assert worker.returncode == 0


def download(url: str) -> bytes:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    return response.content
