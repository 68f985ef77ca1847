"""Sample quality of experiments at their own fixed budgets (steps or epochs), measured by eval.

Each experiment trains exactly as configured (`python run.py experiment=<name>`, plus any --override), so the
same seed gives the same metrics on any machine of the same kind; only the wall clock depends on the machine
and its load. Then its last checkpoint is measured on 1000 images per class.

    python -m bench.quality                                               # the default and the assignment's MLP
    python -m bench.quality --experiments mnist_dcgan --override datamodule.batch_size=64 \
        --override model.optimizer_g.lr=7e-4 --override model.optimizer_d.lr=7e-4 --override trainer.max_epochs=42 \
        --section quality_30min
    python -m bench.quality --experiments fashion_dcgan --section quality_fashion
    python -m bench.quality --experiments emoji_dcgan --section quality_emoji
    python -m bench.quality --experiments emoji_styles --section quality_emoji_styles
    python -m bench.quality --experiments mnist_dcgan --variant '' --variant 'model.compile=true' --section levers

Each --variant (overrides, as a shell splits them; '' for none) is one more run of every experiment, one
after the other in this process: budgets compared side by side on the same machine in the same hour.

`outside steps` is the share of the fit's wall clock spent in validation, quality metrics, sample grids,
checkpoints and Lightning's work between steps (the FitTime callback's time/fit_s and time/steps_s).
"""

import argparse
import itertools
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench._report import BENCHMARKS_MD, load_note, write_section
from condgan.metrics.evaluate import evaluate
from condgan.metrics.files import per_condition_lines
from condgan.training.csv_logger import read_metrics

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


def last(rows: list[dict[str, float]], column: str) -> float:
    return [r[column] for r in rows if column in r][-1]


def condition_cells(model: dict[str, float], floor: dict[str, float]) -> str:
    """ "group 75.1% (73.6%), style ..." for a dataset of several conditions (emoji_styles); "–" otherwise."""
    names = [name for name in model if name.endswith("_acc") and name != "label_acc"]
    cells = [f"{name.removesuffix('_acc')} {model[name]:.1%} ({floor[name]:.1%})" for name in names]
    return ", ".join(cells) or "–"


def fid_over_time(rows: list[dict[str, float]]) -> tuple[list[float], list[float]]:
    """val/fid (200 per class) against the fit's wall clock when the epoch that measured it ended."""
    epoch_end = {int(r["epoch"]): r["time/fit_s"] for r in rows if "time/fit_s" in r}
    measured = [(epoch_end[int(r["epoch"])], r["val/fid"]) for r in rows if "val/fid" in r]
    return [t for t, _ in measured], [fid for _, fid in measured]


def epochs_trained(rows: list[dict[str, float]]) -> float:
    """Epochs, counting a last one cut short (by max_time) as a fraction of the epoch before it (epochs may differ
    in length under a batch size schedule, so each is measured by its own steps)."""
    last_step = {int(r["epoch"]): int(r["step"]) for r in sorted(rows, key=lambda r: r["step"]) if "epoch" in r}
    bounds = [0, *sorted(last_step.values())]
    lengths = [b - a for a, b in itertools.pairwise(bounds)]
    if len(lengths) < 2:
        return float(len(lengths))
    return len(lengths) - 1 + min(1.0, lengths[-1] / lengths[-2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", nargs="+", default=["mnist_dcgan", "train_mnist_gan"])
    parser.add_argument("--override", action="append", default=[], help="a Hydra override for every run")
    parser.add_argument("--variant", action="append", help="overrides of one more run, as a shell splits them")
    parser.add_argument("--section", default="quality", help="the docs/benchmarks.md section to (re)write")
    parser.add_argument("--title", help="the section's heading, e.g. '### The best run within 30 minutes'")
    parser.add_argument("--data-dir", default=str(ROOT / "data"))
    args = parser.parse_args()

    note = load_note()
    rows: list[str] = []
    per_condition: list[str] = []  # tables per group and per style, for the datasets of several conditions
    fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
    variants = [shlex.split(variant) for variant in args.variant or [""]]
    for index, (experiment, variant) in enumerate(itertools.product(args.experiments, variants)):
        label = " ".join([experiment, *args.override, *variant])
        run_dir, seconds = train(
            f"{experiment}-{index}" if len(variants) > 1 else experiment,
            [f"experiment={experiment}", f"paths.data_dir={args.data_dir}", *args.override, *variant],
        )
        report = evaluate(run_dir / "checkpoints" / "last.ckpt", args.data_dir, n_per_class=1000)
        model, floor, log = report["model"], report["floor"], read_log(run_dir)
        fit_s, steps_s = last(log, "time/fit_s"), last(log, "time/steps_s")
        rows.append(
            f"| `{label}` | {report['dataset']} {report['image_size']} px | {epochs_trained(log):.3g} | "
            f"{int(last(log, 'step'))} | {seconds:.0f} | {1 - steps_s / fit_s:.1%} | "
            f"{model['fid']:.2f} ({floor['fid']:.2f}) | {model['intra_fid']:.2f} ({floor['intra_fid']:.2f}) | "
            f"{model['kid']:.3f} | {model['label_acc']:.2%} ({floor['label_acc']:.2%}) | "
            f"{model['precision']:.3f} ({floor['precision']:.3f}) | {model['recall']:.3f} ({floor['recall']:.3f}) | "
            f"{condition_cells(model, floor)} |"
        )
        for condition, values in report.get("per_condition", {}).get("model", {}).items():
            per_condition += [
                f"`{label}`:",
                *per_condition_lines(condition, values, report["per_condition"]["floor"][condition])[1:],
                "",
            ]
        ax.plot(*fid_over_time(log), "o-", markersize=3, label=label)
        print(rows[-1], flush=True)
    ax.set(xlabel="fit wall clock (s, incl. per-epoch metrics)", ylabel="val/fid (200 per class)", yscale="log")
    ax.legend(fontsize=7)
    plot = BENCHMARKS_MD.parent / "images" / f"{args.section}_vs_time.png"
    plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(plot, dpi=100)

    table = "\n".join(
        [
            args.title or f"## Sample quality at fixed budgets: {', '.join(args.experiments)}",
            "",
            "Each experiment trains as configured (same seed, same metrics on any machine), then `condgan eval`",
            "measures its last checkpoint (1000 images per class) in the feature space of the dataset's committed",
            "classifier (docs/metrics.md); the real-data floor (held-out training images against the test split) is",
            "in brackets. Lower is better for FID, intra-FID and KID; higher for the rest. `steps` are the loggers'",
            "(batches); `train s` is the whole `condgan train` wall clock; `outside steps` is the fit's share spent in",
            "validation, quality metrics, sample grids, checkpoints and Lightning's work between steps (fetching",
            f"batches, callbacks). {note}.",
            "",
            "| run | data | epochs | steps | train s | outside steps | FID (floor) | intra-FID (floor) | KID | "
            "label acc (floor) | precision (floor) | recall (floor) | each condition's accuracy (floor) |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
            "",
            *per_condition,
            f"![val/fid against training time](images/{plot.name})",
        ]
    )
    print(table)
    write_section(args.section, table)


if __name__ == "__main__":
    main()
