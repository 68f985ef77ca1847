"""The serving image, built with podman and started the way a container runtime would: for CI and benchmarks.

Where no registry and no ``podman run`` are available (CI here: setrlimit is denied), the base image is a
Debian bookworm made by mmdebstrap (its python3 is 3.11, as in python:3.11-slim) and ``podman import``-ed, and
a container is started by hand: the image's root mounted (``podman image mount``), /proc, /dev and a fresh /tmp
bound in, the model folder bound read-only at /models, then the image's entrypoint and command run with its
environment, as its user, under chroot, inside a private mount namespace (unshare) that ends with the process.
"""

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers.local_server import LocalServer, free_loopback_port, server_process

DEBIAN_SUITE = "bookworm"
DEBIAN_PACKAGES = "python3,python3-venv,ca-certificates"
CA_CERTS = "/etc/ssl/certs"  # the host's CA bundle, lent to pip during the build only (a build volume)
TOOLS = ("podman", "mmdebstrap", "unshare", "chroot")
# Run in the private mount namespace: $1 the image root, $2 the model folder, then the command to exec.
START = """set -e
root=$1 models=$2; shift 2
mount --bind /proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount --bind "$models" "$root/models"
mount -o remount,bind,ro "$root/models"
exec "$@"
"""


class ContainerError(RuntimeError):
    """A podman or mmdebstrap step failed; the message holds the command and its output."""


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def run(*command: str, timeout_s: float = 900) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-4000:]
        raise ContainerError(f"`{' '.join(command)}` failed with status {result.returncode}:\n{output}")
    return result.stdout


def base_tarball(cache_dir: Path) -> Path:
    """A minimal Debian with python3, made by mmdebstrap once (about a minute) and kept in ``cache_dir``."""
    tarball = cache_dir / f"debian-{DEBIAN_SUITE}-python3.tar"
    if not tarball.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_name(tarball.name + ".partial")
        for stale in (tarball, partial):  # our own cache: a killed build, or a folder an older version left
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink(missing_ok=True)
        # --format=tar: mmdebstrap picks the format from the name's extension, and ".partial" would be a folder
        args = ("--variant=minbase", "--format=tar", f"--include={DEBIAN_PACKAGES}", DEBIAN_SUITE, str(partial))
        run("mmdebstrap", *args)
        partial.replace(tarball)  # a build killed half-way leaves no tarball that looks complete
    return tarball


def image_ids() -> set[str]:
    """Every local image, intermediate build layers included."""
    return set(run("podman", "images", "--all", "--quiet", "--no-trunc").split())


def import_base(tarball: Path) -> tuple[str, bool]:
    """(the tarball's image tag, whether it was imported now). The tag changes with the tarball, so a rebuilt
    tarball is imported again."""
    tag = f"localhost/condgan-base:{DEBIAN_SUITE}-{tarball.stat().st_mtime_ns:x}"
    if subprocess.run(["podman", "image", "exists", tag]).returncode == 0:
        return tag, False
    run("podman", "import", str(tarball), tag)
    return tag, True


def build_image(context: Path, base: str, tag: str, target: str | None = None) -> None:
    """``podman build`` of the Dockerfile in ``context`` from ``base``, as ``docker build .`` builds it (the
    default target) unless ``target`` is given; unchanged steps come from podman's cache."""
    run(
        "podman",
        "build",
        "--isolation",
        "chroot",
        "--format",
        "docker",  # docker format keeps HEALTHCHECK
        *(["--target", target] if target else []),
        "--build-arg",
        f"BASE={base}",
        "--volume",
        f"{CA_CERTS}:{CA_CERTS}:ro",
        "--build-arg",
        f"PIP_CERT={CA_CERTS}/ca-certificates.crt",
        "--tag",
        tag,
        str(context),
    )


@contextmanager
def serving_image(context: Path, cache_dir: Path, tag: str) -> Iterator[dict[str, str]]:
    """{"base": the Debian base, "serve": ``tag`` built on it from ``context``'s Dockerfile}, removed on exit.

    Each fresh clone makes its own base tarball, hence a new base tag, and each build leaves the image it
    replaces untagged: kept, a CI machine would gain about 700 MB of images a run until its disk fills.
    Removing the built image removes its untagged build layers with it; a base imported here goes too.
    """
    base, imported = import_base(base_tarball(cache_dir))
    made = [tag, *([base] if imported else [])]
    try:
        build_image(context, base, tag)
        yield {"base": base, "serve": tag}
    finally:
        subprocess.run(["podman", "rmi", "--ignore", *made], capture_output=True)


def inspect(image: str) -> dict[str, Any]:
    return json.loads(run("podman", "image", "inspect", image))[0]


def image_size(image: str) -> int:
    """Bytes, as ``podman image inspect`` counts them (all layers, uncompressed)."""
    return int(inspect(image)["Size"])


@contextmanager
def mounted_root(image: str) -> Iterator[Path]:
    root = Path(run("podman", "image", "mount", image).strip())
    try:
        yield root
    finally:
        run("podman", "image", "unmount", image)


def start_command(root: Path, config: dict[str, Any], models: Path, *arguments: str) -> list[str]:
    """The image's entrypoint + command + ``arguments``, as its user with only its environment, in ``root``."""
    user = config.get("User") or "0:0"
    program = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or []), *arguments]
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        START,
        "start",
        str(root),
        str(models),
        "chroot",
        f"--userspec={user}",
        str(root),
        "env",
        "-i",
        *(config.get("Env") or []),
        *program,
    ]


@contextmanager
def container_server(image: str, models: Path, timeout_s: float = 120) -> Iterator[LocalServer]:
    """The image's server, serving ``models`` (bound read-only at /models), on a free loopback port.

    The command is the image's own, plus ``host=127.0.0.1 port=<free port>``: the last value of a key wins,
    and chroot shares the host's network, where 0.0.0.0:8000 may be taken.
    """
    with mounted_root(image) as root:
        port = free_loopback_port()
        config = inspect(image)["Config"]
        command = start_command(root, config, models, "host=127.0.0.1", f"port={port}")
        with server_process(command, port, timeout_s) as server:
            yield server
