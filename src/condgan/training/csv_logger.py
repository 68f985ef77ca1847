"""``csv/metrics.csv``: every logged number, one row per log call, written as it comes and kept across resumes.

Lightning's own CSVLogger deletes the metrics.csv it finds in its folder (so a run resumed into its own folder
lost its first part) and buffers rows for 100 steps (so a ``kill -9`` lost the last ones). This one continues
the file of the run it resumes, dropping the rows that were logged after the checkpoint it resumes from.
"""

import csv
import io
import logging
import time
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_only

from condgan.atomic import atomic_write_bytes

log = logging.getLogger(__name__)


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    """A metrics.csv as one dict per row, holding only the columns that row has a value for."""
    with Path(path).open(newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


class CSVLogger(Logger):
    """``<save_dir>/<name>/metrics.csv`` with a ``step`` column and one column per metric (sorted, like Lightning's).

    ``resume_step``: the logging step of the checkpoint this run resumes from; rows up to it are kept, later
    ones (logged by the earlier run after that checkpoint) are dropped. None: a new run, which moves an
    earlier file aside (``metrics.<time>.csv``) instead of deleting it. The file is the only state: processes
    that log in turn (``ddp_spawn`` starts new ones for fit and for test) all continue it.
    """

    def __init__(self, save_dir: str, name: str = "csv", resume_step: int | None = None):
        super().__init__()
        self._save_dir, self._name = str(save_dir), name
        self.path = Path(save_dir) / name / "metrics.csv"
        self._take_over(resume_step)

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> str:
        return ""

    @property
    def save_dir(self) -> str:
        return self._save_dir

    @property
    def log_dir(self) -> str:
        return str(self.path.parent)

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Nothing to do: the run folder's config.yaml already holds the whole resolved config."""

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        row = {**metrics, "step": step}
        columns = self._read_header()
        if set(row) <= set(columns):
            with self.path.open("a", newline="") as f:
                csv.DictWriter(f, fieldnames=columns).writerow(row)
        else:  # a new column: the header changes, so the whole file is rewritten
            self._write(sorted(set(columns) | set(row)), [*self._read_rows(), row])

    @rank_zero_only
    def _take_over(self, resume_step: int | None) -> None:
        """Continue the rows an earlier part of this run wrote (resume), or move an unrelated file aside."""
        if not self.path.is_file():
            return
        if resume_step is None:
            mtime = time.localtime(self.path.stat().st_mtime)
            aside = self.path.with_name(f"metrics.{time.strftime('%Y%m%d-%H%M%S', mtime)}.csv")
            self.path.rename(aside)
            log.warning("%s holds an earlier run's metrics; moved it to %s", self.path, aside.name)
            return
        rows = self._read_rows()
        kept = [row for row in rows if int(float(row["step"])) <= resume_step]
        self._write(self._read_header(), kept)
        log.info(
            "Continuing %s from step %d: %d rows kept, %d logged after that checkpoint dropped",
            self.path,
            resume_step,
            len(kept),
            len(rows) - len(kept),
        )

    def _read_header(self) -> list[str]:
        if not self.path.is_file():
            return []
        with self.path.open(newline="") as f:
            return next(csv.reader(f), [])

    def _read_rows(self) -> list[dict[str, str]]:
        if not self.path.is_file():
            return []
        with self.path.open(newline="") as f:
            return list(csv.DictReader(f))

    def _write(self, columns: list[str], rows: list[dict[str, Any]]) -> None:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(self.path, text.getvalue().encode())
