"""Scale-out benchmark: the SQLite store in one process against the Redis store, alone and in two
processes behind a load balancer, under the same wrk load; then a replica killed during a run.

Load: wrk, 64 connections, a Lua script that sends valid img_mixer creates and polls every queued job's
fetch_result twice (servers run with 30 % processing replies and `--processing-polls 1`, so the second
fetch completes the job). Runs, one after the other on this machine:

    sqlite x1      one `mixmock serve`, SQLite store file                       (the peer)
    redis  x1      one `mixmock serve`, Redis store                             (what the store costs)
    redis  x2 + lb two `mixmock serve`, one Redis, nginx round-robin in front  (scale-out)
    kill           the x2 run again, one replica SIGKILLed half-way: every accepted job must be in Redis

Printed: req/s, p99 and errors per run; the ratios redis x1 / sqlite x1, and redis x2 per process /
sqlite x1, also per CPU second of the mock processes (on a small machine the second process, Redis, nginx
and wrk compete for the same cores, so raw req/s per process understates what a process costs).

    python bench/bench_scale.py                      # 20 s per run
    python bench/bench_scale.py --duration 10 --skip-kill

Needs wrk, redis-server and nginx on PATH (Debian: apt-get install -y wrk redis-server nginx-light).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from bench_load import BODY, CREATE  # the same create request as the load benchmark

from mock_server.tooling.redis_server import redis_server
from mock_server.tooling.testing import free_port, stop_process, wait_until_answering

PREFIX = "bench"

# Per wrk thread: a queue of fetch paths (each queued job twice), counters, and the ids of every job whose
# create was answered. `done` writes the ids to IDS_FILE for the loss check, one per line.
WRK_SCRIPT = textwrap.dedent(
    """
    local create_body = '%(body)s'
    local fetch_body = '{"key":"bench-key"}'
    local fetches, head, tail = {}, 1, 0
    counts = {creates = 0, queued = 0, fetched = 0, done = 0, bad = 0}
    ids = {}
    local threads = {}

    function setup(thread) table.insert(threads, thread) end

    function request()
      if head <= tail then
        local path = fetches[head]; fetches[head] = nil; head = head + 1
        return wrk.format("POST", path, {["Content-Type"] = "application/json"}, fetch_body)
      end
      return wrk.format("POST", "%(create)s", {["Content-Type"] = "application/json"}, create_body)
    end

    function response(status, headers, body)
      if status ~= 200 then counts.bad = counts.bad + 1; return end
      local fetch = body:match('"fetch_result":"https?://[^/]+([^"]+)"')
      if fetch then
        counts.creates = counts.creates + 1; counts.queued = counts.queued + 1
        tail = tail + 1; fetches[tail] = fetch; tail = tail + 1; fetches[tail] = fetch
        ids[#ids + 1] = body:match('"id":(%%d+)')
      elseif body:find('"generationTime"', 1, true) then
        counts.creates = counts.creates + 1
        ids[#ids + 1] = body:match('"id":(%%d+)')
      elseif body:find('"status":"success"', 1, true) then
        counts.fetched = counts.fetched + 1; counts.done = counts.done + 1
      elseif body:find('"status":"processing"', 1, true) then
        counts.fetched = counts.fetched + 1
      else
        counts.bad = counts.bad + 1
      end
    end

    function done(summary, latency, requests)
      local totals = {creates = 0, queued = 0, fetched = 0, done = 0, bad = 0}
      local out = io.open("%(ids)s", "w")
      for _, thread in ipairs(threads) do
        local c = thread:get("counts")
        for name, value in pairs(c) do totals[name] = totals[name] + value end
        for _, id in ipairs(thread:get("ids")) do out:write(id, "\\n") end
      end
      out:close()
      local e = summary.errors
      local rps = summary.requests / (summary.duration / 1e6)
      local p50, p99 = latency:percentile(50) / 1000, latency:percentile(99) / 1000
      io.write(string.format("rps=%%.1f\\np50_ms=%%.3f\\np99_ms=%%.3f\\n", rps, p50, p99))
      local socket_errors = e.connect + e.read + e.write + e.timeout
      io.write(string.format("socket_errors=%%d\\nnon2xx=%%d\\n", socket_errors, e.status))
      for name, value in pairs(totals) do io.write(string.format("%%s=%%d\\n", name, value)) end
    end
    """
)
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
{user}
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream mock {{
{servers}
        keepalive 128;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            # A replica that refuses the connection: the request was not sent, so the next one gets it.
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


@dataclass
class Run:
    label: str
    processes: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors + non-2xx + replies that were neither success nor processing
    creates: int
    queued: int
    completed: int
    cpu_s: float  # CPU seconds the mock processes used during the run
    seconds: float
    lost: int | None = None  # accepted jobs missing from the store (checked on Redis runs)
    redis_cpu_s: float | None = None  # CPU seconds redis-server used during the run

    @property
    def per_process(self) -> float:
        return self.rps / self.processes

    @property
    def per_cpu_second(self) -> float:
        return self.rps * self.seconds / self.cpu_s if self.cpu_s > 0 else 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def mock(store: str, *, log: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    command = [
        sys.executable, "-m", "mock_server", "serve", "--port", str(port), "--no-access-log",
        "--store", store, "--store-prefix", PREFIX, "--processing-ratio", "0.3", "--processing-polls", "1",
    ]  # fmt: skip
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until_answering(f"http://127.0.0.1:{port}/ready", process, timeout=60, success=True)
        except RuntimeError as error:
            raise SystemExit(f"mixmock serve did not start ({error}); see {log}") from None
        yield port, process
    finally:
        stop_process(process)


@contextmanager
def nginx(ports: Sequence[int], folder: Path) -> Iterator[int]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;" for p in ports)
    user = "user root;" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(folder=folder, user=user, servers=servers, port=port))
    process = subprocess.Popen([binary, "-c", str(conf), "-p", str(folder)], stderr=subprocess.DEVNULL)
    try:
        try:
            wait_until_answering(f"http://127.0.0.1:{port}/health", process, timeout=15, success=True)
        except RuntimeError as error:
            raise SystemExit(f"nginx did not start ({error}); see {folder / 'nginx-error.log'}") from None
        yield port
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wrk(url: str, seconds: float, script: Path) -> dict[str, float]:
    command = ["wrk", "-t2", "-c64", f"-d{seconds:g}s", "--latency", "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 120).stdout
    return {name: float(value) for name, value in re.findall(r"^(\w+)=([\d.]+)$", output, re.MULTILINE)}


def write_script(folder: Path, ids: Path) -> Path:
    script = folder / "scale.lua"
    body = json.dumps(BODY, separators=(",", ":"))
    script.write_text(WRK_SCRIPT % {"body": body, "create": CREATE, "ids": ids})
    return script


def lost_jobs(store: str, ids: Path) -> int:
    """Accepted job ids (answered with an id) that the Redis store does not have."""
    accepted = [line for line in ids.read_text().split() if line]
    client = redis.Redis.from_url(store)
    missing = 0
    for start in range(0, len(accepted), 5000):
        with client.pipeline(transaction=False) as pipe:
            for job_id in accepted[start : start + 5000]:
                pipe.hexists(f"{PREFIX}:job:{job_id}", "doc")
            missing += sum(1 for found in pipe.execute() if not found)
    client.close()
    return missing


def redis_cpu(store: str | None) -> float:
    """CPU seconds the redis-server process has used (INFO cpu); 0 without a store."""
    if store is None:
        return 0.0
    client = redis.Redis.from_url(store)
    info = client.info("cpu")
    client.close()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def measure(
    label: str,
    url: str,
    pids: Sequence[int],
    seconds: float,
    folder: Path,
    kill_after: float | None = None,
    store: str | None = None,
) -> tuple[Run, Path]:
    ids = folder / f"ids-{label.replace(' ', '-')}.txt"
    script = write_script(folder, ids)
    wrk(url, 3.0, script)  # warm-up
    before = sum(cpu_seconds(pid) for pid in pids)
    redis_before = redis_cpu(store)
    killer = None
    if kill_after is not None:
        killer = threading.Timer(kill_after, os.kill, (pids[-1], signal.SIGKILL))
        killer.start()
    figures = wrk(url, seconds, script)
    if killer is not None:
        killer.join()
    used = sum(cpu_seconds(pid) for pid in pids if Path(f"/proc/{pid}/stat").exists()) - before
    run = Run(
        label=label,
        processes=len(pids),
        rps=figures["rps"],
        p50_ms=figures["p50_ms"],
        p99_ms=figures["p99_ms"],
        errors=int(figures["socket_errors"] + figures["non2xx"] + figures["bad"]),
        creates=int(figures["creates"]),
        queued=int(figures["queued"]),
        completed=int(figures["done"]),
        cpu_s=max(used, 0.0),
        seconds=seconds,
        redis_cpu_s=redis_cpu(store) - redis_before if store is not None else None,
    )
    print(
        f"{label:15} {run.rps:8.0f} req/s  p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:7.2f} ms  "
        f"errors {run.errors}  creates {run.creates} (queued {run.queued}, completed {run.completed})  "
        f"mock CPU {run.cpu_s:.1f} s",
        flush=True,
    )
    return run, ids


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per run (default 20)")
    parser.add_argument("--skip-kill", action="store_true", help="leave out the replica-kill run")
    args = parser.parse_args(argv)
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            raise SystemExit(
                f"{tool} is not installed (Debian: apt-get install -y wrk redis-server nginx-light)"
            )
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        raise SystemExit("nginx is not installed (Debian: apt-get install -y nginx-light)")

    runs: dict[str, Run] = {}
    with tempfile.TemporaryDirectory(prefix="mixmock-scale-") as name:
        folder = Path(name)
        log = folder / "servers.log"
        print(f"wrk -t2 -c64, {args.duration:g} s per run; 30 % processing, each queued job fetched twice")

        with mock(str(folder / "jobs.sqlite3"), log=log) as (port, process):
            runs["sqlite"], _ = measure(
                "sqlite x1", f"http://127.0.0.1:{port}", [process.pid], args.duration, folder
            )

        with (
            redis_server(folder / "redis-1", persistence="aof") as store,
            mock(store.url, log=log) as (port, alone),
        ):
            url = f"http://127.0.0.1:{port}"
            run, ids = measure("redis x1", url, [alone.pid], args.duration, folder, store=store.url)
            run.lost = lost_jobs(store.url, ids)
            runs["redis"] = run

        with redis_server(folder / "redis-2", persistence="aof") as store, ExitStack() as stack:
            started = [stack.enter_context(mock(store.url, log=log)) for _ in range(2)]
            balancer = stack.enter_context(nginx([port for port, _ in started], folder))
            pids = [process.pid for _, process in started]
            url = f"http://127.0.0.1:{balancer}"
            run, ids = measure("redis x2 + lb", url, pids, args.duration, folder, store=store.url)
            run.lost = lost_jobs(store.url, ids)
            runs["redis2"] = run

        if not args.skip_kill:
            with redis_server(folder / "redis-3", persistence="aof") as store, ExitStack() as stack:
                started = [stack.enter_context(mock(store.url, log=log)) for _ in range(2)]
                balancer = stack.enter_context(nginx([port for port, _ in started], folder))
                pids = [process.pid for _, process in started]
                half = args.duration / 2
                run, ids = measure(
                    "kill at half", f"http://127.0.0.1:{balancer}", pids, args.duration, folder, half
                )
                run.lost = lost_jobs(store.url, ids)
                runs["kill"] = run

    sqlite, one, two = runs["sqlite"], runs["redis"], runs["redis2"]
    print()
    print(f"redis x1 / sqlite x1 (what the store costs a process): {one.rps / sqlite.rps:.2f}")
    print(f"redis x2 per process / sqlite x1:                     {two.per_process / sqlite.rps:.2f}")
    per_cpu = two.per_cpu_second / sqlite.per_cpu_second
    print(
        f"requests per mock CPU second, redis x2 / sqlite x1:    {per_cpu:.2f} "
        f"({two.per_cpu_second:.0f} / {sqlite.per_cpu_second:.0f})"
    )
    print(f"redis x2 + lb / sqlite x1 (aggregate):                 {two.rps / sqlite.rps:.2f}")
    if two.redis_cpu_s:
        per_request = two.redis_cpu_s / (two.rps * two.seconds)
        print(
            f"redis-server CPU per request (x2 run): {per_request * 1e6:.0f} us, so one Redis core "
            f"would serve about {1 / per_request:,.0f} requests/s of this mix"
        )
    for key in ("redis", "redis2", "kill"):
        if key in runs:
            checked = runs[key]
            accepted = f"{checked.creates} jobs accepted, {checked.lost} missing from Redis"
            print(f"{checked.label}: {accepted}, {checked.errors} errors")
    failed = any(runs[key].errors for key in ("sqlite", "redis", "redis2")) or any(
        checked.lost for checked in runs.values() if checked.lost is not None
    )
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
