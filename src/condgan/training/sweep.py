"""``trials.csv`` in a multirun folder: one row per job with its overrides and the metric it returned."""

import csv
import hashlib
import io
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict, read_write

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
        if hydra_cfg.mode != RunMode.MULTIRUN or "study_name" in hydra_cfg.sweeper:
            return  # an Optuna sweep's trials.csv is written by its sweeper, from the study all its workers share
        ok = job_return.status == JobStatus.COMPLETED
        row = {"trial": hydra_cfg.job.num, "status": job_return.status.name}
        row.update(override.split("=", 1) for override in job_return.overrides or [] if "=" in override)
        row[config.get("optimized_metric") or "value"] = job_return.return_value if ok else ""
        row["run_dir"] = hydra_cfg.runtime.output_dir
        self.rows.append(row)
        self.write(Path(hydra_cfg.sweep.dir) / self.filename)

    def write(self, path: Path) -> None:
        write_csv(path, self.rows)
        log.info("Sweep summary: %s (%d trials)", path, len(self.rows))


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """``rows`` as a CSV table (columns: the union of their keys, first-seen order), written atomically."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(path, buffer.getvalue().encode())


def study_name(prefix: str, task_overrides: list[str]) -> str:
    """The study a command works on: ``prefix`` alone, or with a hash of the command's other overrides, so the
    same command resumes its study and another command starts its own."""
    rest = sorted(arg for arg in task_overrides if not arg.startswith(("hparams_search=", "+hparams_search=")))
    if not rest:
        return prefix
    return f"{prefix}-{hashlib.sha256(' '.join(rest).encode()).hexdigest()[:8]}"


# What Lightning's DDP launcher sets in the launching process's environment (and leaves there after the fit).
DDP_ENVIRONMENT = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "LOCAL_RANK", "WORLD_SIZE")


@contextmanager
def ddp_in_this_trial() -> Iterator[None]:
    """A multirun trial that trains with DDP, so that the next trial can too.

    Before: Lightning would start DDP's other processes with the sweep's command line (``-m``: a sweep of their
    own) in ``hydra.run.dir`` (a folder of their own); they get this trial's overrides and folder instead.
    After: Lightning leaves its process group and its LOCAL_RANK, WORLD_SIZE... in this process, which would
    make the next trial's Trainer believe its processes already exist; both go.
    """
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        yield
        return
    hydra_cfg = HydraConfig.get()
    sys.argv = [sys.argv[0], *hydra_cfg.overrides.task, "hydra.mode=RUN"]
    with read_write(hydra_cfg), open_dict(hydra_cfg):
        hydra_cfg.run.dir = hydra_cfg.runtime.output_dir  # Lightning passes it on as hydra.run.dir
    before = {name: os.environ.get(name) for name in DDP_ENVIRONMENT}
    try:
        yield
    finally:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
