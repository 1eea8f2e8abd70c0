"""bench_versus.py's served half: one uvicorn process per app on loopback (Atrium's
`app_from_environment`, the anchor's), a few keep-alive client threads driving it for a while,
and the server process's own CPU time from /proc, so CPU per request is the server's alone."""
from __future__ import annotations

import http.client
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from pages_load import free_port

ROOT = Path(__file__).resolve().parent.parent
B2B = ROOT / "blueprints" / "b2b_sales"


class Served:
    """An app under `uvicorn --factory` in its own session (one process: no workers to add up)."""

    def __init__(self, name: str, factory: str, env: dict, log_folder: Path):
        self.name, self.port = name, free_port()
        self.log = open(log_folder / f"{name}.log", "w")
        command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
                   "--port", str(self.port), "--log-level", "warning", "--no-access-log",
                   "--app-dir", str(ROOT / "bench")]
        self.process = subprocess.Popen(command, env=dict(os.environ, **env), stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.cookie = ""

    def wait_ready(self, path: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see its log")
            try:
                self.request("GET", path)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer in time")

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict | None = None) -> tuple[int, dict, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
        finally:
            connection.close()

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def atrium_server(database_url: str, folder: Path) -> Served:
    env = {"ATRIUM_BLUEPRINT": str(B2B), "ATRIUM_DATABASE_URL": database_url, "ATRIUM_SECRET_KEY": "bench-versus",
           "ATRIUM_SCHEDULER": "off", "ATRIUM_SITE_OVERLAY": str(folder / "site")}
    return Served("atrium", "atrium.ui.web.app:app_from_environment", env, folder)


def anchor_server(database_url: str, folder: Path) -> Served:
    return Served("anchor", "anchor_app:app_from_environment", {"ANCHOR_DATABASE_URL": database_url}, folder)


def sign_in_atrium(server: Served, name: str, password: str) -> str:
    _, headers, page = server.request("GET", "/login")
    cookie = headers["set-cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    status, headers, _ = server.request(
        "POST", "/login", urlencode({"name": name, "password": password, "csrf_token": token}),
        {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    if status != 303:
        raise RuntimeError(f"sign-in of {name} answered {status}")
    return headers["set-cookie"].split(";", 1)[0]


def sign_in_anchor(server: Served, name: str) -> str:
    status, headers, _ = server.request("GET", f"/login?name={name}")
    if status != 303:
        raise RuntimeError(f"anchor sign-in of {name} answered {status}")
    return headers["set-cookie"].split(";", 1)[0]


def drive(server: Served, cookie: str, paths: list[str], seconds: float, clients: int,
          least: int = 10) -> dict:
    """`clients` keep-alive connections sending the paths round-robin for `seconds` (and at least
    `least` requests); the server's CPU time per request, req/s and client-side latency."""
    lock, position, latencies, statuses = threading.Lock(), [0], [], {}
    stop_at = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        try:
            while True:
                with lock:
                    n = position[0]
                    if time.monotonic() >= stop_at and n >= least:
                        return
                    position[0] += 1
                started = time.perf_counter()
                connection.request("GET", paths[n % len(paths)], headers={"Cookie": cookie})
                response = connection.getresponse()
                response.read()
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
                    statuses[response.status] = statuses.get(response.status, 0) + 1
        finally:
            connection.close()
    cpu, wall = server.cpu_seconds(), time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall, cpu = time.perf_counter() - wall, server.cpu_seconds() - cpu
    n = len(latencies)
    return {"requests": n, "rps": n / wall, "cpu_ms": cpu * 1000 / n, "p50": statistics.median(latencies),
            "statuses": sorted(statuses)}
