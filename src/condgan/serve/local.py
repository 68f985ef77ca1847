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


class ServerStartError(RuntimeError):
    """The server process exited or never answered /healthz; the message holds its log."""


@dataclass(frozen=True)
class LocalServer:
    url: str  # http://127.0.0.1:<port>
    pid: int


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_server(model_path: str | Path, threads: int = 1, timeout_s: float = 60) -> Iterator[LocalServer]:
    """``python -m condgan.serve`` for ``model_path`` on 127.0.0.1; yields once /healthz answers, stops it after."""
    port = free_loopback_port()
    command = [sys.executable, "-m", "condgan.serve", f"ckpt_path={model_path}", f"port={port}", f"threads={threads}"]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_healthy(url, process, timeout_s, log)
            yield LocalServer(url, process.pid)
        finally:
            process.terminate()  # uvicorn shuts down gracefully on SIGTERM
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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
        time.sleep(0.2)
    raise ServerStartError(f"no healthy server at {url} after {timeout_s} s:\n{read_log(log)}")


def read_log(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")
