import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.tooling.testing import free_port, stop_process, wait_until_answering

pytestmark = pytest.mark.unit


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Python's own file server on a free loopback port: 200 for `/`, 404 for a missing file."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tmp_path),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        stop_process(process)


def test_any_reply_will_do_by_default(file_server: tuple[str, subprocess.Popen[bytes]]) -> None:
    base, process = file_server
    wait_until_answering(base + "/missing", process)


def test_a_readiness_check_waits_for_a_2xx_reply(file_server: tuple[str, subprocess.Popen[bytes]]) -> None:
    base, process = file_server
    wait_until_answering(base + "/", process, success=True)
    with pytest.raises(RuntimeError, match=r"gave no 2xx reply within 1 s \(last: status 404\)"):
        wait_until_answering(base + "/missing", process, timeout=1.0, success=True)


def test_a_process_that_exits_is_named_with_its_code() -> None:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait(timeout=30)
    with pytest.raises(RuntimeError, match="exited with code 3"):
        wait_until_answering(f"http://127.0.0.1:{free_port()}/", process)
