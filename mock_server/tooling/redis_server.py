"""A real `redis-server` for test suites and benchmarks: a free loopback port, its own folder, stopped by us.

with redis_server(tmp_path, persistence="aof") as redis:
    Settings(store=redis.url)          # redis://127.0.0.1:<port>/0
    redis.restart()                    # SHUTDOWN (saves), then the same port, folder and data again
    redis.kill()                       # SIGKILL: what a crash looks like

Debian's `redis-server` package (or any Redis 7 / Valkey binary on PATH) is what runs.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mock_server.tooling.testing import free_port

__all__ = ["Persistence", "RedisServer", "redis_binary", "redis_server"]

Persistence = Literal["none", "aof", "rdb"]
_PERSISTENCE: dict[str, tuple[str, ...]] = {
    # Nothing on disk: the fastest, and what a throwaway CI mock needs.
    "none": ("--save", "", "--appendonly", "no"),
    # Every write appended and fsynced each second; a clean SHUTDOWN fsyncs the rest.
    "aof": ("--save", "", "--appendonly", "yes", "--appendfsync", "everysec"),
    # Snapshots only (one on SHUTDOWN).
    "rdb": ("--save", "60 1", "--appendonly", "no"),
}


def redis_binary() -> str | None:
    """The redis-server (or valkey-server) on PATH, or None."""
    return shutil.which("redis-server") or shutil.which("valkey-server")


@dataclass
class RedisServer:
    folder: Path
    persistence: Persistence = "none"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 15.0) -> None:
        binary = redis_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed (Debian: apt-get install -y redis-server)")
        if self.persistence not in _PERSISTENCE:
            raise ValueError(f"persistence {self.persistence!r} is not one of {', '.join(_PERSISTENCE)}")
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.folder),
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--logfile", str(self.folder / "redis.log"),
            *_PERSISTENCE[self.persistence],
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_until_up(timeout_s)

    def _wait_until_up(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process is not None and self.process.poll() is not None:
                log = self.folder / "redis.log"
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"redis-server exited with code {self.process.returncode}: {tail}")
            if self._answers():
                return
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server on port {self.port} did not answer within {timeout_s} s")
            time.sleep(0.02)

    def _answers(self) -> bool:
        """PING answered with PONG (a server still loading its data answers LOADING instead)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, timeout_s: float = 15.0) -> None:
        """A clean SHUTDOWN (data saved when persistence is on); SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1.0) as c:
            c.sendall(b"SHUTDOWN\r\n")
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close_pipe()

    def kill(self) -> None:
        """SIGKILL: no save, no fsync beyond what the persistence mode already did."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)
        self._close_pipe()

    def restart(self) -> None:
        """Stop cleanly and start again on the same port and folder (so with the saved data)."""
        self.stop()
        self.start()

    def _close_pipe(self) -> None:
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


@contextlib.contextmanager
def redis_server(folder: Path, persistence: Persistence = "none") -> Iterator[RedisServer]:
    """A started redis-server; stopped (and killed if it hangs) on exit."""
    server = RedisServer(folder, persistence)
    server.start()
    try:
        yield server
    finally:
        server.stop()
