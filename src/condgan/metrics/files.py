"""A measurement as files: ``metrics.json`` (everything, machine-readable) and ``metrics.md`` (a small table)."""

import json
from pathlib import Path
from typing import Any

from condgan.atomic import atomic_write_bytes
from condgan.metrics.measure import METRICS, metric_names

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
        "can score at this sample count.",
        *protocol_lines(report),
        "What each number means: docs/metrics.md.",
        "",
        "| metric | model | real-data floor | better |",
        "|---|---:|---:|---|",
    ]
    for name in metric_names(model):
        title, number = column(name)
        lines.append(f"| {title} | {model[name]:{number}} | {floor[name]:{number}} | {METRICS.get(name, 'higher')} |")
    for condition, values in report.get("per_condition", {}).get("model", {}).items():
        lines += per_condition_lines(condition, values, report["per_condition"]["floor"][condition])
    return "\n".join(lines) + "\n"


def protocol_lines(report: dict[str, Any]) -> list[str]:
    """A sentence when precision and recall are means over parts of the sample (``reference_sized_parts``)."""
    parts = report.get("precision_recall_parts", 1)  # reports written before the key existed: one set
    if parts < 2:
        return []
    return [
        f"Precision and recall are means over {parts} disjoint parts of the generated images, each holding the "
        "test split's count of every label: k-NN balls shrink as a set grows, so sets of equal size are compared."
    ]


def column(name: str) -> tuple[str, str]:
    """(table title, number format) of a metric: COLUMNS', or a condition's accuracy ``<condition>_acc``."""
    return COLUMNS.get(name) or (f"{name.removesuffix('_acc')} accuracy", ".4f")


def per_condition_lines(condition: str, model: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    """A table with one row per value of ``condition``: each metric as "model (floor)"."""
    names = [name for name in next(iter(model.values())) if name != "n_images"]
    lines = ["", f"Per {condition} (model, real-data floor in brackets):", ""]
    lines += [
        "| " + " | ".join([condition, *(column(n)[0] for n in names)]) + " |",
        "|---" + "|---:" * len(names) + "|",
    ]
    for value, metrics in model.items():
        cells = [f"{metrics[n]:{column(n)[1]}} ({floor[value][n]:{column(n)[1]}})" for n in names]
        lines.append("| " + " | ".join([value, *cells]) + " |")
    return lines


def write_metrics_files(report: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    """Write both files into ``folder`` atomically; returns their paths."""
    json_path, markdown_path = folder / "metrics.json", folder / "metrics.md"
    atomic_write_bytes(json_path, (json.dumps(report, indent=2) + "\n").encode())
    atomic_write_bytes(markdown_path, markdown(report).encode())
    return json_path, markdown_path
