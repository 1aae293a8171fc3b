"""The mock image's install and start commands, replayed in a fresh virtualenv, pass its health check.

No Docker engine is needed: the COPY instructions fill a scratch root folder (honouring .dockerignore), the
RUN pip installs run in a new venv (pip's cache reused, so `--no-cache-dir` is dropped), and the CMD starts
with the image's ENV, on a free loopback port instead of 0.0.0.0:8000. Then the image's HEALTHCHECK command
itself must pass, and the server must stop cleanly.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docker.dockerfile import Instruction
from tests.docker.dockerignore import DockerIgnore
from tests.docker.images import IMAGES, REPO_ROOT, Image
from tests.integration.servers import stop

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

(MOCK,) = [image for image in IMAGES if image.name == "mock"]
INSTALL_TIMEOUT_S = 300
START_TIMEOUT_S = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ScratchRoot:
    """Container paths mapped under a host folder: /data becomes ROOT/data."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, container_path: str, workdir: str = "/") -> Path:
        absolute = (
            container_path if container_path.startswith("/") else f"{workdir.rstrip('/')}/{container_path}"
        )
        return self.root / absolute.lstrip("/")

    def copy(self, instruction: Instruction, workdir: str, ignore: DockerIgnore) -> None:
        *sources, destination = instruction.words()
        target = self.path(destination, workdir)
        for source in sources:
            origin = REPO_ROOT / source
            if origin.is_file():
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name)
                continue
            for file in origin.rglob("*"):
                relative = file.relative_to(REPO_ROOT).as_posix()
                if file.is_file() and not ignore.excludes(relative):
                    (target / file.relative_to(origin)).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(file, target / file.relative_to(origin))


def _replay_build(image: Image, root: ScratchRoot, venv: Path) -> str:
    """COPY and RUN pip install in order; returns the final WORKDIR."""
    ignore = DockerIgnore.from_file(REPO_ROOT / ".dockerignore")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    workdir = "/"
    for stage in image.chain():
        for instruction in stage.instructions:
            if instruction.keyword == "WORKDIR":
                workdir = instruction.arguments
                root.path(workdir).mkdir(parents=True, exist_ok=True)
            elif instruction.keyword == "COPY":
                root.copy(instruction, workdir, ignore)
    for command in image.pip_installs():
        words = [word for word in shlex.split(command) if word != "--no-cache-dir"]
        result = subprocess.run(
            [str(venv / "bin" / "python"), "-m", *words],
            cwd=root.path(".", "/src"),
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
        assert result.returncode == 0, f"{command} failed:\n{result.stderr[-3000:]}"
    return workdir


def _runtime_env(image: Image, root: ScratchRoot, venv: Path, port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MIXMOCK_")}
    for key, value in image.env().items():
        env[key] = str(root.path(value)) if value.startswith("/") else value
    env["MIXMOCK_PORT"] = str(port)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.pop("VIRTUAL_ENV", None)
    return env


def _health_check(image: Image, venv: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    check = image.last("HEALTHCHECK")
    command = check.healthcheck_command() if check is not None else None
    assert command is not None, f"{image.name}: no exec-form HEALTHCHECK"
    executable = venv / "bin" / command[0]
    return subprocess.run(
        [str(executable), *command[1:]], env=env, capture_output=True, text=True, timeout=10, check=False
    )


@dataclass(frozen=True)
class Started:
    process: subprocess.Popen[str]
    env: dict[str, str]
    root: ScratchRoot
    venv: Path
    port: int
    log: Path

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                output = self.log.read_text(encoding="utf-8")[-3000:]
                pytest.fail(f"the image command exited with {self.process.returncode}:\n{output}")
            result = _health_check(MOCK, self.venv, self.env)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                pytest.fail(f"health check still failing after {START_TIMEOUT_S}s:\n{result.stderr[-2000:]}")
            time.sleep(0.5)


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Started]:
    root, venv, port, log = (
        ScratchRoot(tmp_path / "root"),
        tmp_path / "venv",
        _free_port(),
        tmp_path / "server.log",
    )
    workdir = _replay_build(MOCK, root, venv)
    env = _runtime_env(MOCK, root, venv, port)
    cmd = MOCK.last("CMD")
    assert cmd is not None
    # The image listens on every interface; the test stays on loopback.
    words = ["127.0.0.1" if word == "0.0.0.0" else word for word in cmd.words()]
    with (
        log.open("w") as output,
        subprocess.Popen(
            [str(venv / "bin" / words[0]), *words[1:]],
            cwd=root.path(workdir),
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        ) as process,
    ):
        try:
            yield Started(process, env, root, venv, port, log)
        finally:
            stop(process)


def test_image_command_starts_passes_its_health_check_and_stops(started: Started) -> None:
    started.wait_healthy()

    with urllib.request.urlopen(f"http://127.0.0.1:{started.port}/health", timeout=5) as reply:
        health = json.load(reply)
    assert health["status"] == "ok"
    assert health["engine"] == "synthetic"
    assert health["store"] == str(started.root.path(MOCK.env()["MIXMOCK_STORE"]))

    started.process.terminate()
    assert started.process.wait(timeout=15) in (0, -15), "the mock did not stop cleanly on SIGTERM"
