"""The serving image: built by podman from the repository's Dockerfile, started from its own root, and used.

Marked ``container`` (`make test-container`, run by .ci/run after `make test`): it needs root, podman and
mmdebstrap, and a few minutes the first time (the Debian base tarball is then cached in .cache/container/).
"""

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from condgan.checkpoints.sidecar import metadata_path
from tests.helpers import ROOT, container, skip_without

CACHE = ROOT / ".cache" / "container"
IMAGE = "localhost/condgan-serve:test"
MAX_ADDED_BYTES = 250_000_000  # what the image may add to its base

pytestmark = pytest.mark.container


@pytest.fixture(scope="module")
def images() -> Iterator[dict[str, str]]:
    """{"base": the imported Debian base, "serve": the image built on it from ./Dockerfile}."""
    present = os.geteuid() == 0 and not container.missing_tools()
    skip_without(present, f"needs root and {', '.join(container.TOOLS)}: apt-get install podman mmdebstrap")
    before = container.image_ids()
    with container.serving_image(ROOT, CACHE, IMAGE) as images:
        yield images
    left = container.image_ids() - before
    assert not left, f"the build left {len(left)} images behind"  # CI's disk would fill, run after run


@pytest.fixture
def models(untrained_onnx, tmp_path) -> Path:
    """A model folder as a user mounts it: the export under the name the image serves by default, readable by
    everyone (the server runs as uid 10001, and pytest's own folders are private to root)."""
    folder = tmp_path / "models"
    folder.mkdir()
    folder.chmod(0o755)
    for source, name in ((untrained_onnx, "last.onnx"), (metadata_path(untrained_onnx), "last.onnx.json")):
        shutil.copyfile(source, folder / name)
        (folder / name).chmod(0o644)
    return folder


def test_the_image_is_slim_runs_as_a_user_and_checks_its_health(images):
    added = container.image_size(images["serve"]) - container.image_size(images["base"])
    assert 0 < added <= MAX_ADDED_BYTES, f"the image adds {added / 1e6:.0f} MB to its base"
    image = container.inspect(images["serve"])
    config = image["Config"]
    assert config["User"] == "10001:10001"
    assert "/healthz" in " ".join(image["Healthcheck"]["Test"])  # podman keeps it beside Config
    assert config["Entrypoint"] == ["condgan", "serve", "host=0.0.0.0", "port=8000"]
    with container.mounted_root(images["serve"]) as root:
        site_packages = next(root.glob("opt/condgan/lib/python3*/site-packages"))
        installed = {p.name.split("-")[0].lower() for p in site_packages.glob("*.dist-info")}
        assert {"fastapi", "uvicorn", "onnxruntime", "numpy", "pillow", "condgan"} <= installed
        # no training package; Hydra's config library comes with every condgan command (its key=value overrides)
        assert not installed & {"torch", "torchvision", "lightning", "wandb", "tensorboard", "matplotlib"}
        assert "condgan:x:10001:10001:" in (root / "etc/passwd").read_text()


def test_the_image_serves_a_mounted_export_as_a_user_with_the_model_read_only(images, models):
    with container.container_server(images["serve"], models) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        png = http.get("/generate", params={"label": 4, "n": 9, "seed": 1})
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(png.content)).size == (3 * 30 + 2, 3 * 30 + 2)
        bad = http.get("/generate", params={"label": 10})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "label"]
        assert http.get("/metadata").json()["model_file"] == "last.onnx"

        status = Path(f"/proc/{server.pid}/status").read_text()
        uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
        assert uids == ["10001"] * 4  # real, effective, saved, filesystem: never root
        mountinfo = Path(f"/proc/{server.pid}/mountinfo").read_text().splitlines()
        options = {fields[4]: fields[5].split(",") for fields in map(str.split, mountinfo)}
        assert "ro" in options["/models"] and "ro" in options["/"]  # a read-only root too, as in the Kubernetes example
        loaded = Path(f"/proc/{server.pid}/maps").read_text()
        assert "onnxruntime" in loaded and "torch" not in loaded
