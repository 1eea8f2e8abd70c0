"""The page benchmarks' load half: `atrium serve --workers 2` as a subprocess on loopback, signed
in through /login with the CSRF token, driven by wrk with a Lua script that spreads requests over
many record ids, and the resident memory of each uvicorn worker from /proc."""
from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ATRIUM = ROOT / ".venv" / "bin" / "atrium"

LUA = """
local ids = {%(ids)s}
local prefix = "%(prefix)s"
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  bad = 0
  math.randomseed(os.time() + #tostring({}))
end
function request()
  if #ids == 0 then return wrk.format("GET", prefix) end
  return wrk.format("GET", prefix .. ids[math.random(#ids)])
end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format("NOT200 %%d\\n", total))
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("P%%d %%.3f\\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("MEAN %%.3f\\n", latency.mean / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`atrium serve` in its own session, so it and its workers are stopped together."""

    def __init__(self, database: Path, workers: int = 2):
        self.port = free_port()
        # the pages are measured, not the day's scheduled rules, which a fresh server would
        # otherwise start on the file's 100,000 customers while wrk runs
        env = dict(os.environ, ATRIUM_SECRET_KEY="bench-pages-secret", ATRIUM_SCHEDULER="off")
        env.pop("ATRIUM_BLUEPRINT", None)
        self.log = open(database.parent / "serve.log", "w")
        self.process = subprocess.Popen(
            [str(ATRIUM), "--db", f"sqlite:///{database}", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(workers)],
            cwd=database.parent, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers = workers

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"atrium serve exited with {self.process.returncode}; see serve.log")
            try:
                status, _, _ = self.request("GET", "/login")
                if status == 200 and len(self.worker_pids()) >= self.workers:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("atrium serve did not answer in time")

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict | None = None) -> tuple[int, dict, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
        finally:
            connection.close()

    def sign_in(self, name: str, password: str) -> str:
        """The session cookie of a signed-in user: GET /login for the token, POST it back."""
        _, headers, page = self.request("GET", "/login")
        cookie = headers["set-cookie"].split(";", 1)[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        from urllib.parse import urlencode
        status, headers, _ = self.request(
            "POST", "/login", urlencode({"name": name, "password": password, "csrf_token": token}),
            {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        if status != 303:
            raise RuntimeError(f"sign-in of {name} answered {status}")
        return headers["set-cookie"].split(";", 1)[0]

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes: the children of the server that run spawn_main."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError, ValueError):
                continue
            if parent == self.process.pid and "spawn_main" in command:
                pids.append(int(entry.name))
        return sorted(pids)

    def drain(self, timeout: float = 120) -> None:
        """Wait until the workers have finished the requests a previous run left queued: a worker
        runs a page on its event loop, so requests of closed connections are still worked off."""
        deadline = time.monotonic() + timeout
        quick = 0
        while time.monotonic() < deadline and quick < 3:
            started = time.monotonic()
            self.request("GET", "/login")
            quick = quick + 1 if time.monotonic() - started < 0.2 else 0

    def cpu_seconds(self) -> float:
        """User + system CPU time the workers have used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    def memory(self) -> list[dict]:
        """VmRSS and VmHWM (peak) of the server process and each worker, in MiB."""
        result = []
        for role, pid in [("server (supervisor)", self.process.pid)] + [("worker", p) for p in self.worker_pids()]:
            status = Path(f"/proc/{pid}/status").read_text()
            fields = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
            result.append({"role": role, "pid": pid, "rss": int(fields["VmRSS"]) / 1024,
                           "hwm": int(fields["VmHWM"]) / 1024})
        return result

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the session this server leads, workers included
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def wrk(port: int, cookie: str, prefix: str, ids: list[int], folder: Path, seconds: int,
        connections: int, threads: int) -> dict:
    script = folder / "bench_pages.lua"
    script.write_text(LUA % {"ids": ",".join(map(str, ids)), "prefix": prefix})
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency",
               "-H", f"Cookie: {cookie}", "-s", str(script), f"http://127.0.0.1:{port}{prefix}"]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    number = lambda pattern: float(re.search(pattern, output).group(1))  # noqa: E731
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {"rps": number(r"Requests/sec:\s+([\d.]+)"), "requests": int(number(r"(\d+) requests in")),
            "p50": number(r"P50 ([\d.]+)"), "p90": number(r"P90 ([\d.]+)"), "p99": number(r"P99 ([\d.]+)"),
            "mean": number(r"MEAN ([\d.]+)"), "not200": int(number(r"NOT200 (\d+)")),
            "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0, "output": output}
