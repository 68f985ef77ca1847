"""The serving image: its size against its base, and its cold start (process start → first 200 from /healthz).

Builds the image as the container test does (podman, the mmdebstrap Debian base cached in .cache/container/),
then starts its entrypoint from the mounted image root ``--starts`` times with an ONNX export of ``--ckpt``
mounted read-only at /models (any checkpoint will do: the architecture sets the start). Needs root, podman
and mmdebstrap.

    python -m bench.container --ckpt <run folder>/checkpoints/last.ckpt [--starts 5]   # → docs/benchmarks.md

Cold start depends on the machine's load and disk cache (the first start reads the image from disk): the
table gives the first start apart from the median of the others, and the load average at the start.
"""

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from bench._report import load_note, markdown_table, write_section
from condgan.checkpoints.sidecar import metadata_path
from condgan.inference.export import export_generator
from tests.helpers import container

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "localhost/condgan-serve:bench"


def model_folder(ckpt: Path, folder: Path) -> Path:
    """``folder``/models with last.onnx and its .json, readable by the image's user (uid 10001)."""
    models = folder / "models"
    models.mkdir()
    export = export_generator(ckpt, "onnx", models / "last.onnx")
    for path in (models, export, metadata_path(export)):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", type=Path, required=True, help="a training checkpoint (.ckpt), exported to ONNX")
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0 or container.missing_tools():
        raise SystemExit(f"needs root and {', '.join(container.TOOLS)}: apt-get install podman mmdebstrap")

    cache = ROOT / ".cache" / "container"
    with container.serving_image(ROOT, cache, IMAGE) as images, tempfile.TemporaryDirectory() as tmp:
        base_mb, image_mb = (container.image_size(images[name]) / 1e6 for name in ("base", "serve"))
        load = load_note()
        folder = Path(tmp)
        folder.chmod(0o755)
        models = model_folder(args.ckpt, folder)
        starts = []
        for _ in range(args.starts):
            with container.container_server(IMAGE, models) as server:
                starts.append(server.cold_start_s)
    rows = {
        "Debian bookworm base (mmdebstrap minbase + python3, python3-venv, ca-certificates)": {
            "MB": f"{base_mb:.0f}",
            "cold start s": "",
        },
        "condgan serving image (the default target, onnx)": {
            "MB": f"{image_mb:.0f} (+{image_mb - base_mb:.0f})",
            "cold start s": f"first {starts[0]:.2f}, then median {statistics.median(starts[1:] or starts):.2f}",
        },
    }
    how = (
        "Sizes from `podman image inspect` (uncompressed layers). Cold start: `condgan-serve` started by chroot in "
        f"the mounted image (ONNX export mounted read-only) until /healthz first answers 200, {args.starts} starts, "
        f"polled every 20 ms; {load}."
    )
    table = f"## Serving image: size and cold start\n\n{how}\n\n{markdown_table('image', rows)}"
    print(table)
    write_section("container", table)


if __name__ == "__main__":
    main()
