"""Sample quality of experiments under the same wall-clock budget, measured by eval.

Each experiment trains with `trainer.max_time=<budget>` (and the assignment's MLP also for its full 20
epochs, the reference of the targets), then its last checkpoint is measured on 1000 images per class.

    python -m bench.quality [--budget 300] [--experiments mnist_dcgan train_mnist_gan mnist_resnet]
    python -m bench.quality --budget 1800 --experiments mnist_dcgan --baseline-epochs 0 --section quality_30min
    python -m bench.quality --budget 600 --experiments fashion_dcgan --baseline-epochs 0 --section quality_fashion

mnist_resnet is left out by default: at about 70 images/s on 2 CPU cores, 300 s is a fraction of an epoch.
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import itertools

import matplotlib.pyplot as plt

from bench._report import BENCHMARKS_MD, write_section
from condgan.csv_logger import read_metrics
from condgan.metrics.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "logs" / "bench" / "quality"


def train(name: str, overrides: list[str]) -> tuple[Path, float]:
    run_dir = OUT / name
    shutil.rmtree(run_dir, ignore_errors=True)  # this script's own earlier run: stale checkpoints would mix in
    command = [sys.executable, str(ROOT / "run.py"), *overrides, "logger=csv", "test=false", f"hydra.run.dir={run_dir}"]
    start = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return run_dir, time.monotonic() - start


def read_log(run_dir: Path) -> list[dict[str, float]]:
    """The rows of the run's csv/metrics.csv; a row holds the values logged at one step."""
    return read_metrics(run_dir / "csv" / "metrics.csv")


def fid_over_time(rows: list[dict[str, float]], seconds: float) -> tuple[list[float], list[float]]:
    """val/fid (200 per class, logged each epoch) against training time, spread over the run by step."""
    last_step = max(int(r["step"]) for r in rows)
    measured = [r for r in rows if "val/fid" in r]
    return [seconds * int(r["step"]) / last_step for r in measured], [float(r["val/fid"]) for r in measured]


def epochs_trained(rows: list[dict[str, float]]) -> float:
    """Epochs, counting a last one cut short by max_time as a fraction. An epoch's length in logged steps is
    the longest one between the last steps of consecutive epochs (val/fid may be logged every n epochs only)."""
    last_step = {int(r["epoch"]): int(r["step"]) for r in sorted(rows, key=lambda r: int(r["step"]))}
    bounds = [0, *sorted(last_step.values())]  # a last epoch cut short is the shortest gap, so max skips it
    steps_per_epoch = max(b - a for a, b in itertools.pairwise(bounds)) if len(bounds) > 1 else 1
    return max(int(r["step"]) for r in rows) / steps_per_epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=300, help="seconds of training per experiment")
    parser.add_argument("--experiments", nargs="+", default=["mnist_dcgan", "train_mnist_gan"])
    parser.add_argument("--baseline-epochs", type=int, default=20, help="0: skip the assignment's full run")
    parser.add_argument("--section", default="quality", help="the docs/benchmarks.md section to (re)write")
    parser.add_argument("--data-dir", default=str(ROOT / "data"))
    args = parser.parse_args()

    budget = f"00:00:{args.budget // 60:02d}:{args.budget % 60:02d}"
    runs = [  # (run folder name, table label, overrides)
        (f"{e}_{args.budget}s", f"{e} ({args.budget} s)", [f"experiment={e}", f"trainer.max_time={budget}", "trainer.max_epochs=1000"])
        for e in args.experiments
    ]
    if args.baseline_epochs:
        epochs = args.baseline_epochs
        runs.append((f"train_mnist_gan_{epochs}ep", f"train_mnist_gan ({epochs} epochs)", ["experiment=train_mnist_gan", f"trainer.max_epochs={epochs}"]))

    rows = []
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    for name, label, overrides in runs:
        run_dir, seconds = train(name, overrides)
        report = evaluate(run_dir / "checkpoints" / "last.ckpt", args.data_dir, n_per_class=1000)
        model, floor, log = report["model"], report["floor"], read_log(run_dir)
        rows.append(
            f"| {label} | {report['dataset']} {report['image_size']} px | {seconds:.0f} | {epochs_trained(log):.1f} | "
            f"{model['fid']:.2f} ({floor['fid']:.2f}) | {model['intra_fid']:.2f} ({floor['intra_fid']:.2f}) | "
            f"{model['kid']:.3f} | {model['label_acc']:.2%} ({floor['label_acc']:.2%}) | "
            f"{model['precision']:.3f} | {model['recall']:.3f} |"
        )
        ax.plot(*fid_over_time(log, seconds), "o-", markersize=3, label=label)
        print(rows[-1], flush=True)
    ax.set(xlabel="training time (s, wall clock incl. per-epoch metrics)", ylabel="val/fid (200 per class)", yscale="log")
    ax.legend(fontsize=7)
    plot = BENCHMARKS_MD.parent / "images" / f"{args.section}_vs_time.png"
    plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(plot, dpi=100)

    table = "\n".join(
        [
            f"## Sample quality within {args.budget} s of CPU training",
            "",
            "Metrics of `python eval.py` (1000 images per class, last checkpoint) in the feature space of the",
            "dataset's committed classifier (docs/metrics.md), with the real-data floor of the same dataset and size",
            "in brackets: held-out training images measured against the test split. Lower is better for FID,",
            "intra-FID and KID; higher for the rest. `train s` is wall clock, including per-epoch validation.",
            "",
            "| experiment | data | train s | epochs | FID (floor) | intra-FID (floor) | KID | label acc (floor) "
            "| precision | recall |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            f"![val/fid against training time](images/{plot.name})",
        ]
    )
    print(table)
    write_section(args.section, table)


if __name__ == "__main__":
    main()
