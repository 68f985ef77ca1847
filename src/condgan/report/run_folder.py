"""A training run's folder as the report reads it: config, overrides, logged metrics, sample grids, checkpoint."""

import json
import re
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from condgan.training.csv_logger import read_metrics

# condgan.training.train's resolved copy first; Hydra's own copy still holds interpolations, but names a run folder too.
CONFIG_FILES = ("config.yaml", ".hydra/config.yaml")
SAMPLE_GRID = re.compile(r"epoch_(\d+)\.png")


class RunFolderError(ValueError):
    """The path given as run_dir is not the folder of a training run."""


class RunFolder:
    """Paths into one run folder (``condgan train ... hydra.run.dir=<path>``) and readers for what they hold."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser().absolute()
        if not self.path.is_dir():
            raise RunFolderError(
                f"run_dir={self.path} does not exist or is not a folder. Pass the folder of a training run, "
                "e.g. run_dir=logs/runs/<date>/<time> (the hydra.run.dir of `condgan train`)."
            )
        if self.config_path is None:
            raise RunFolderError(
                f"run_dir={self.path} is not a run folder: it holds neither {' nor '.join(CONFIG_FILES)}. "
                "Pass the folder `condgan train` wrote, e.g. run_dir=logs/runs/<date>/<time>."
            )

    @property
    def config_path(self) -> Path | None:
        return next((p for p in (self.path / name for name in CONFIG_FILES) if p.is_file()), None)

    def config(self) -> DictConfig:
        return OmegaConf.load(self.config_path)

    def overrides(self) -> list[str] | None:
        """The command line's overrides, as Hydra recorded them; None when the run has no .hydra folder."""
        path = self.path / ".hydra" / "overrides.yaml"
        return list(OmegaConf.load(path)) if path.is_file() else None

    @property
    def metrics_csv(self) -> Path:
        return self.path / "csv" / "metrics.csv"

    @property
    def metrics_json(self) -> Path:
        return self.path / "checkpoints" / "metrics.json"  # condgan eval writes it next to the checkpoint

    @property
    def last_checkpoint(self) -> Path:
        return self.path / "checkpoints" / "last.ckpt"

    def sample_grids(self) -> dict[int, Path]:
        """{epoch: samples/epoch_NNN.png}, in epoch order."""
        found = ((SAMPLE_GRID.fullmatch(p.name), p) for p in (self.path / "samples").glob("epoch_*.png"))
        return dict(sorted((int(match[1]), path) for match, path in found if match))

    def logged_rows(self) -> list[dict[str, float]]:
        """csv/metrics.csv as one dict per row, holding only the columns that row has a value for."""
        return read_metrics(self.metrics_csv)

    def evaluation(self) -> dict[str, float]:
        """The numbers of metrics.json, nested keys joined with "/" (e.g. ``model/fid``, ``floor/fid``)."""
        return flatten_numbers(json.loads(self.metrics_json.read_text()))


def flatten_numbers(value: Any, prefix: str = "") -> dict[str, float]:
    """Every number in a JSON value, keyed by its path; strings, lists and booleans are left out."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in flatten_numbers(item, f"{prefix}{key}/").items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {prefix.rstrip("/"): float(value)}
    return {}
