"""A throwaway PostgreSQL server for tests: Debian's binaries, a cluster in a temp folder, a loopback port."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.local_server import free_loopback_port

PACKAGE = "postgresql"


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl (Debian keeps them out of PATH, under /usr/lib/postgresql/<version>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run ``command`` as the postgres user Debian's package made."""
    return ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(command)] if os.geteuid() == 0 else command


@contextmanager
def postgres_server(database: str = "condgan") -> Iterator[str]:
    """Start a cluster (trust login, loopback only) with an empty ``database``; yield its URL; stop and delete it."""
    bin_dir = postgres_bin()
    assert bin_dir is not None, f"no PostgreSQL: apt-get install {PACKAGE}"
    folder = Path(tempfile.mkdtemp(prefix="condgan-postgres-"))  # not under pytest's root-only tmp folders
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = free_loopback_port()

    def run(*command: str) -> None:
        subprocess.run(as_server_user(list(command)), check=True, capture_output=True, timeout=120)

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start")
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", database)
        yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                timeout=120,
            )
        shutil.rmtree(folder, ignore_errors=True)
