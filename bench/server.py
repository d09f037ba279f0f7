"""Starts and stops `vox up` (or `spin up`, bench/spin_bench.py) on a free loopback port, and talks
HTTP to it."""

import http.client
import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.records import ProcessMemory

HOST = "127.0.0.1"
START_TIMEOUT_S = 300  # a cold compiled-code cache compiles every component first
POLL_INTERVAL_S = 0.01
REQUEST_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def peak_rss_kb(pid: int) -> int:
    """VmHWM of a live process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def memory_kb(pid: int) -> ProcessMemory:
    """Resident (rss) and proportional (pss) memory of a live process, in KiB. Pages mapped
    several times (a snapshot's memory image shared by its instances) count once in pss."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name.strip().lower()] = int(value.split()[0])
    return ProcessMemory(rss_kb=fields.get("rss", 0), pss_kb=fields.get("pss", 0))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    first_byte_s: float  # request sent → first body byte (or end, for an empty body)
    total_s: float


@dataclass
class VoxServer:
    """One `vox up` process; use as a context manager so it is always stopped."""

    root: Path
    log_dir: Path
    idle_instance_timeout: str = "600s"
    extra_flags: tuple[str, ...] = ()
    manifest: Path | None = None  # default: the repository's spin.toml
    env: dict[str, str] = field(default_factory=dict)  # added to this environment (SPIN_VARIABLE_*)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    startup_s: float = float("nan")

    def __enter__(self) -> "VoxServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    name = "vox"

    def command(self) -> list[str]:
        return [
            str(self.root / "target/release/vox"), "up",
            "-f", str(self.manifest or self.root / "spin.toml"),
            "--listen", f"{HOST}:{self.port}",
            "--idle-instance-timeout", self.idle_instance_timeout,
            "--log-dir", str(self.log_dir),
            *self.extra_flags,
        ]

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        stderr = (self.log_dir / f"{self.name}-{self.port}.log").open("wb")
        started = time.perf_counter()
        self.process = subprocess.Popen(self.command(), cwd=self.root, stdout=subprocess.DEVNULL, stderr=stderr,
                                        env={**os.environ, **self.env})
        stderr.close()
        self.wait_healthy(started)
        self.startup_s = time.perf_counter() - started

    def wait_healthy(self, started: float) -> None:
        while time.perf_counter() - started < START_TIMEOUT_S:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} up exited with {self.process.returncode}; see {self.log_dir}")
            try:
                if self.request("GET", "/health", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(POLL_INTERVAL_S)
        raise TimeoutError(f"{self.name} up did not answer /health within {START_TIMEOUT_S} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def memory_kb(self) -> ProcessMemory:
        return memory_kb(self.process.pid)

    @property
    def peak_rss_kb(self) -> int:
        return peak_rss_kb(self.process.pid)

    @property
    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def connection(self, timeout: float = REQUEST_TIMEOUT_S) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(HOST, self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = REQUEST_TIMEOUT_S) -> Response:
        conn = self.connection(timeout)
        try:
            return timed_request(conn, method, path, body, headers or {})
        finally:
            conn.close()

    def post_json(self, path: str, payload: dict) -> Response:
        return self.request("POST", path, json.dumps(payload).encode(), {"content-type": "application/json"})


def timed_request(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None,
                  headers: dict) -> Response:
    """Sends one request on `conn` and reads the streamed answer, timing the first body byte."""
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    chunks, first_byte = [], None
    while chunk := response.read1(65536):
        if first_byte is None:
            first_byte = time.perf_counter() - started
        chunks.append(chunk)
    total = time.perf_counter() - started
    return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, b"".join(chunks),
                    first_byte if first_byte is not None else total, total)
