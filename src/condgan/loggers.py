"""Weights & Biases without surprises: offline when there is no API key, online when there is one."""

import logging
import netrc
import os

from lightning.pytorch.loggers import Logger, WandbLogger
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)


def wandb_api_key_available() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None  # where `wandb login` stores it
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def resolve_wandb_mode(logger_cfg: DictConfig | None) -> None:
    """Fill ``offline: null`` of any W&B logger config: offline unless an API key (or WANDB_MODE) says otherwise."""
    for cfg in (logger_cfg or {}).values():
        if isinstance(cfg, DictConfig) and cfg.get("_target_", "").endswith("WandbLogger") and cfg.get("offline") is None:
            mode = os.environ.get("WANDB_MODE", "")
            offline = mode in ("offline", "dryrun") or (mode != "online" and not wandb_api_key_available())
            with open_dict(cfg):
                cfg.offline = offline


def announce_wandb(loggers: list[Logger]) -> None:
    for logger in loggers:
        if isinstance(logger, WandbLogger) and logger._offline:
            run_dir = os.path.dirname(logger.experiment.dir)  # .../wandb/offline-run-<time>-<id>
            log.info("W&B is offline (no API key found); upload this run later with: wandb sync %s", run_dir)


def close_loggers() -> None:
    """End the W&B run, so the next run in this process (a sweep, a test) starts its own instead of reusing it."""
    import wandb

    if wandb.run is not None:
        wandb.finish()
