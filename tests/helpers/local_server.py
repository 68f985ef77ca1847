"""A real server process on a free loopback port, for tests and benchmarks: started, healthy, then stopped."""

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

POLL_S = 0.02  # how often /healthz is asked while the server starts: the cold start is measured to this


class ServerStartError(RuntimeError):
    """The server process exited or never answered /healthz; the message holds its log."""


@dataclass(frozen=True)
class LocalServer:
    url: str  # http://127.0.0.1:<port>
    pid: int
    cold_start_s: float  # process start → first 200 from /healthz


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def server_process(command: list[str], port: int, timeout_s: float = 60) -> Iterator[LocalServer]:
    """Run ``command``, a server that will listen on 127.0.0.1:``port``; yield once /healthz answers, stop it after."""
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(url, process, timeout_s, log)
            yield LocalServer(url, process.pid, time.perf_counter() - start)
        finally:
            process.terminate()  # uvicorn shuts down gracefully on SIGTERM
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def local_server(
    model_path: str | Path, threads: int = 1, timeout_s: float = 60, **options: int
) -> Iterator[LocalServer]:
    """``python -m condgan.serve`` for ``model_path`` on 127.0.0.1, with more ``key=value`` ``options`` if given."""
    port = free_loopback_port()
    arguments = {"ckpt_path": model_path, "port": port, "threads": threads, **options}
    command = [sys.executable, "-m", "condgan.serve", *(f"{key}={value}" for key, value in arguments.items())]
    with server_process(command, port, timeout_s) as server:
        yield server


def wait_until_healthy(url: str, process: subprocess.Popen, timeout_s: float, log: IO[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerStartError(f"the server exited with status {process.returncode}:\n{read_log(log)}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(POLL_S)
    raise ServerStartError(f"no healthy server at {url} after {timeout_s} s:\n{read_log(log)}")


def read_log(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")
