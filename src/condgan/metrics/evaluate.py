"""``evaluate(ckpt_path, data_dir)``: measure a checkpoint's generator, write the report beside it.

``condgan eval`` is the command line.
"""

import logging
import time
from pathlib import Path
from typing import Any

from condgan.checkpoints.io import CheckpointError, load_generator
from condgan.metrics.classifier import load_classifier
from condgan.metrics.files import markdown, write_metrics_files
from condgan.metrics.measure import measure_generator

log = logging.getLogger(__name__)


def evaluate(
    ckpt_path: str | Path, data_dir: str | Path, n_per_class: int = 1000, seed: int = 0, batch_size: int = 1000
) -> dict[str, Any]:
    """Measure ``n_per_class`` samples per class and write ``metrics.json`` / ``metrics.md`` next to the checkpoint.

    Dataset and image size come from the run config saved in the checkpoint; ``data_dir`` is the data root
    on this machine (``data/``: the idx files in ``data/MNIST/raw``, the emoji in ``data/emoji``). Returns the
    report written to ``metrics.json``.
    """
    start = time.monotonic()
    ckpt_path = Path(ckpt_path).resolve()
    generator, config = load_generator(ckpt_path)
    data_config = config.get("datamodule") or {}
    if "dataset" not in data_config or "image_size" not in data_config:
        raise CheckpointError(
            f"{ckpt_path} has no datamodule.dataset / datamodule.image_size in its saved config, so the real data "
            "to compare with is unknown; use a checkpoint written by condgan train."
        )
    dataset, image_size = data_config["dataset"], data_config["image_size"]
    _, classifier_metadata = load_classifier(dataset)
    measured = measure_generator(
        generator, dataset, data_dir, image_size, n_per_class, seed, batch_size, per_condition_table=True
    )
    report = {
        "checkpoint": str(ckpt_path),
        "dataset": dataset,
        "image_size": image_size,
        "n_per_class": n_per_class,
        "seed": seed,
        "classifier": {key: classifier_metadata[key] for key in ("test_accuracy", "command", "torch_version")},
        **measured,
    }
    json_path, markdown_path = write_metrics_files(report, ckpt_path.parent)
    print(markdown(report))
    log.info("Measured in %.1f s; wrote %s and %s", time.monotonic() - start, json_path, markdown_path)
    return report
