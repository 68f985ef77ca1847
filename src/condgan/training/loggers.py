"""The logger group: W&B offline when there is no API key, and every logger continuing the run it resumes."""

import logging
import netrc
import os
from pathlib import Path

import hydra
from lightning.pytorch.loggers import Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, open_dict

from condgan.training.csv_logger import CSVLogger

log = logging.getLogger(__name__)


def wandb_api_key_available() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None  # where `wandb login` stores it
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def wandb_offline() -> bool:
    """Offline unless WANDB_MODE says online, or (without WANDB_MODE) an API key is there."""
    mode = os.environ.get("WANDB_MODE", "")
    return mode in ("offline", "dryrun") or (mode != "online" and not wandb_api_key_available())


def configure_loggers(logger_cfg: DictConfig | None, resume_step: int | None) -> None:
    """Fill in what the logger configs leave open, before they are instantiated.

    W&B: ``offline: null`` becomes the mode ``wandb_offline`` decides. ``resume_step`` (the logging step of the
    checkpoint a run resumes into its own folder, else None): CSV keeps the rows up to it, W&B continues the run
    id found in the folder, TensorBoard purges the events logged after it.
    """
    for cfg in (logger_cfg or {}).values():
        if not isinstance(cfg, DictConfig) or "_target_" not in cfg:
            continue
        kind = hydra.utils.get_class(cfg._target_)
        with open_dict(cfg):
            if issubclass(kind, WandbLogger):
                if cfg.get("offline") is None:
                    cfg.offline = wandb_offline()
                if resume_step is not None and not cfg.get("id") and not cfg.get("version"):
                    cfg.id = latest_wandb_run_id(Path(cfg.save_dir) / "wandb")
            elif resume_step is not None and issubclass(kind, CSVLogger):
                cfg.resume_step = resume_step
            elif resume_step is not None and issubclass(kind, TensorBoardLogger):
                cfg.purge_step = resume_step + 1  # passed on to SummaryWriter: later events of the old files go


def latest_wandb_run_id(wandb_dir: Path) -> str | None:
    """The id of the newest W&B run in ``wandb_dir`` (folders ``[offline-]run-<date>_<time>-<id>``), if any."""
    runs = sorted(wandb_dir.glob("*run-*-*"), key=lambda p: p.name.removeprefix("offline-"))
    return runs[-1].name.rsplit("-", 1)[-1] if runs else None


@rank_zero_only  # other ranks hold Lightning's placeholder experiment, which has no run folder
def announce_wandb(loggers: list[Logger]) -> None:
    for logger in loggers:
        if isinstance(logger, WandbLogger) and logger.experiment.offline:
            runs = sorted(Path(logger.experiment.dir).parents[1].glob(f"offline-run-*-{logger.experiment.id}"))
            log.info(
                "W&B is offline (no API key found); upload this run later with: wandb sync %s",
                " ".join(str(run) for run in runs),
            )


def close_loggers() -> None:
    """End the W&B run, so the next run in this process (a sweep, a test) starts its own instead of reusing it."""
    import wandb

    if wandb.run is not None:
        wandb.finish()
