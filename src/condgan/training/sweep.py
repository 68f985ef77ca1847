"""``trials.csv`` in a multirun folder: one row per job with its overrides and the metric it returned."""

import csv
import io
import logging
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from condgan.atomic import atomic_write_bytes

log = logging.getLogger(__name__)


class TrialSummary(Callback):
    """A Hydra callback (``hydra.callbacks``); rewrites the whole table after each job, so a sweep that
    dies half-way still leaves the trials it finished."""

    def __init__(self, filename: str = "trials.csv"):
        self.filename = filename
        self.rows: list[dict[str, Any]] = []

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        hydra_cfg = HydraConfig.get()
        if hydra_cfg.mode != RunMode.MULTIRUN:
            return
        ok = job_return.status == JobStatus.COMPLETED
        row = {"trial": hydra_cfg.job.num, "status": job_return.status.name}
        row.update(override.split("=", 1) for override in job_return.overrides or [] if "=" in override)
        row[config.get("optimized_metric") or "value"] = job_return.return_value if ok else ""
        row["run_dir"] = hydra_cfg.runtime.output_dir
        self.rows.append(row)
        self.write(Path(hydra_cfg.sweep.dir) / self.filename)

    def write(self, path: Path) -> None:
        columns = list(dict.fromkeys(key for row in self.rows for key in row))  # union, first-seen order
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_bytes(path, buffer.getvalue().encode())
        log.info("Sweep summary: %s (%d trials)", path, len(self.rows))
