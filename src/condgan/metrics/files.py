"""A measurement as files: ``metrics.json`` (everything, machine-readable) and ``metrics.md`` (a small table)."""

import json
from pathlib import Path
from typing import Any

from condgan.atomic import atomic_write_bytes
from condgan.metrics.measure import METRICS

# Metric name → (table title, number format): shares with fixed decimals, distances with 4 significant digits.
COLUMNS = {
    "fid": ("FID", ".4g"),
    "kid": ("KID", ".4g"),
    "intra_fid": ("intra-class FID", ".4g"),
    "label_acc": ("label accuracy", ".4f"),
    "precision": ("precision (k=3)", ".4f"),
    "recall": ("recall (k=3)", ".4f"),
}


def markdown(report: dict[str, Any]) -> str:
    model, floor = report["model"], report["floor"]
    lines = [
        f"# Sample quality of `{report['checkpoint']}`",
        "",
        f"{report['dataset']} at {report['image_size']} px: {model['n_images']} generated images "
        f"({report['n_per_class']} per class, seed {report['seed']}) against the test split, in the feature space "
        f"of the committed {report['dataset']} classifier (test accuracy {report['classifier']['test_accuracy']:.2%}). "
        f"Floor: {floor['n_images']} held-out real training images measured the same way, the best a generator "
        "can score at this sample count. What each number means: docs/metrics.md.",
        "",
        "| metric | model | real-data floor | better |",
        "|---|---:|---:|---|",
    ]
    for name, better in METRICS.items():
        title, number = COLUMNS[name]
        lines.append(f"| {title} | {model[name]:{number}} | {floor[name]:{number}} | {better} |")
    return "\n".join(lines) + "\n"


def write_metrics_files(report: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """Write both files into ``folder`` atomically; returns their paths."""
    json_path, markdown_path = folder / "metrics.json", folder / "metrics.md"
    atomic_write_bytes(json_path, (json.dumps(report, indent=2) + "\n").encode())
    atomic_write_bytes(markdown_path, markdown(report).encode())
    return json_path, markdown_path
