"""The README's quick start, as written: print one of its two commands, or run the mock's and try it.

    python3 .ci/quickstart.py show test   # the command block under "Set up and pass the tests"
    python3 .ci/quickstart.py show mock   # the command block under "Set up and run the mock"
    python3 .ci/quickstart.py show torch  # the test command's torch install (CI's lowest step reuses it)
    python3 .ci/quickstart.py mock        # run the mock's command (it makes .venv), GET /health, one
                                          # create, then stop it; exit 1 with the server's log otherwise

Standard library only: it runs before any virtualenv exists. The mock listens on a free loopback port
(MIXMOCK_PORT, which `mixmock serve` reads), so the command itself runs unchanged.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Quick start"
LEADS = {"mock": "Set up and run the mock", "test": "Set up and pass the tests"}
START_TIMEOUT_S = 600.0  # the command installs the package first
STOP_TIMEOUT_S = 20.0
CREATE = {
    "key": "quickstart",
    "prompt": "a rose made of glass",
    "init_image": ["https://example.com/a.png", "https://example.com/b.png"],
    "width": 64,
    "height": 64,
}


class QuickstartError(Exception):
    """The README or the mock did not do what the quick start promises."""


def command(name: str, readme: str) -> str:
    """The fenced bash block that follows the paragraph starting with `LEADS[name]`, in the Quick start."""
    _, found, rest = readme.partition(f"\n{SECTION}\n")
    if not found:
        raise QuickstartError(f"README.md has no {SECTION!r} section")
    section = rest.split("\n## ", 1)[0]
    block = re.search(rf"^{re.escape(LEADS[name])}.*?\n```bash\n(.*?)```", section, re.DOTALL | re.MULTILINE)
    if block is None:
        raise QuickstartError(f"no ```bash block after {LEADS[name]!r} in the README's {SECTION!r}")
    return block.group(1).strip()


def torch_install(readme: str) -> str:
    """The `pip install torch...` part of the test command, so that CI installs the same torch twice."""
    parts = [" ".join(part.replace("\\\n", " ").split()) for part in command("test", readme).split("&&")]
    found = [part for part in parts if part.startswith("pip install torch")]
    if len(found) != 1:
        raise QuickstartError(f"the README's test command has {len(found)} torch installs, not one")
    return found[0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _request(url: str, body: dict[str, object] | None = None) -> dict[str, object]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=10) as reply:
        answer: dict[str, object] = json.load(reply)
        return answer


def _wait_healthy(server: subprocess.Popen[bytes], base: str) -> dict[str, object]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise QuickstartError(f"the mock's command exited ({server.returncode}) before /health answered")
        try:
            return _request(f"{base}/health")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
    raise QuickstartError(f"{base}/health did not answer within {START_TIMEOUT_S:.0f} s")


def _try(base: str, server: subprocess.Popen[bytes]) -> str:
    health = _wait_healthy(server, base)
    if health.get("status") != "ok":
        raise QuickstartError(f"GET /health: Received {health!r}, Expected status 'ok'")
    reply = _request(f"{base}/api/v6/image_editing/img_mixer", CREATE)
    if reply.get("status") not in ("success", "processing") or not reply.get("id"):
        raise QuickstartError(f"POST img_mixer: Received {reply!r}, Expected a success or processing reply")
    return f"GET /health: {health['status']}; POST img_mixer: {reply['status']}, id {reply['id']}"


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's process group (the shell and `mixmock serve`), SIGKILL if it lingers."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def run_mock(readme: str) -> str:
    """Run the mock's quick-start command from the repository root; returns what was checked."""
    port = _free_port()
    env = {**os.environ, "MIXMOCK_PORT": str(port)}
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            ["bash", "-c", command("mock", readme)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            return _try(f"http://127.0.0.1:{port}", server)
        except (QuickstartError, OSError, ValueError) as error:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-4000:]
            raise QuickstartError(
                f"{error}\n--- the command's output, last 4000 characters ---\n{tail}"
            ) from None
        finally:
            _stop(server)


def main(argv: list[str]) -> int:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    try:
        if argv == ["show", "torch"]:
            print(torch_install(readme))
        elif len(argv) == 2 and argv[0] == "show" and argv[1] in LEADS:
            print(command(argv[1], readme))
        elif argv == ["mock"]:
            print(run_mock(readme))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except QuickstartError as error:
        print(f"quickstart: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
