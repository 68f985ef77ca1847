"""Write a run folder's report: ``python report.py run_dir=logs/runs/<date>/<time>``."""

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from condgan.errors import exit_on_user_error

ROOT = Path(__file__).resolve().parent
log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path=str(ROOT / "configs"), config_name="report.yaml")
@exit_on_user_error
def main(cfg: DictConfig) -> None:
    from condgan.report import write_report  # imported here so `--help` and config errors come fast

    paths = write_report(cfg.run_dir, n_interpolation=cfg.n_interpolation, seed=cfg.seed, epochs_shown=cfg.epochs_shown)
    log.info("Wrote %s and %s", *paths)


if __name__ == "__main__":
    main()
