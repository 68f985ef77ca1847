"""Make the shipped generator from a run of the default experiment: export, measure, record how it was made.

``python -m bench.pretrained --run-dir logs/runs/<date>/<time> --command "condgan train" --commit <sha>``
writes src/condgan/pretrained/mnist_dcgan.{onnx,safetensors} (each with its .json), measures the safetensors
file with ``condgan eval``'s metrics (1000 images per class) and writes PROVENANCE.md and metrics.json beside them.
tests/test_pretrained.py checks the files against each other and against metrics.json.
"""

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from condgan.inference.export import export_generator
from condgan.metrics.evaluate import evaluate
from condgan.metrics.files import markdown
from condgan.pretrained import NAME

PRETRAINED = Path(__file__).resolve().parents[1] / "src" / "condgan" / "pretrained"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, required=True, help="a finished run of the default experiment")
    parser.add_argument("--command", required=True, help="the command that trained it, as typed")
    parser.add_argument("--commit", required=True, help="the commit of the code that trained it")
    parser.add_argument("--data-dir", default="data", help="where MNIST is (default: data)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:  # the checkpoint's name, not its folder, goes into the .json
        ckpt = Path(scratch) / f"{NAME}.ckpt"
        shutil.copyfile(args.run_dir / "checkpoints" / "last.ckpt", ckpt)
        for fmt in ("onnx", "safetensors"):
            sidecar = Path(f"{export_generator(ckpt, fmt, PRETRAINED / f'{NAME}.{fmt}')}.json")
            metadata = {**json.loads(sidecar.read_text()), "source_checkpoint": ckpt.name}  # not the scratch folder
            sidecar.write_text(json.dumps(metadata, indent=2) + "\n")
        measured = Path(scratch) / "measured" / f"{NAME}.safetensors"  # eval writes beside the file it measures
        measured.parent.mkdir()
        for suffix in ("", ".json"):
            shutil.copyfile(PRETRAINED / f"{NAME}.safetensors{suffix}", f"{measured}{suffix}")
        report = {**evaluate(measured, args.data_dir, n_per_class=1000), "checkpoint": f"{NAME}.safetensors"}
    (PRETRAINED / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    config = (args.run_dir / "config.yaml").read_text()
    (PRETRAINED / "PROVENANCE.md").write_text(
        f"# The shipped generator: {NAME}\n\n"
        f"The generator of the default experiment, trained by `{args.command}` at commit {args.commit} (seed "
        f"{seed_of(config)}), exported from its `last.ckpt` (the EMA generator) as `{NAME}.onnx` and "
        f"`{NAME}.safetensors`, each with its `.json` metadata. Made with `python -m bench.pretrained`.\n\n"
        f"`condgan eval` on `{NAME}.safetensors` (1000 images per class, seed 0; metrics.json holds every number):\n\n"
        f"#{markdown(report)}\n"
    )
    print(markdown(report))


def seed_of(config_yaml: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in config_yaml.splitlines() if line.startswith("seed:"))


if __name__ == "__main__":
    main()
