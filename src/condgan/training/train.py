"""``train(cfg)``: build everything from the Hydra config, fit, test. ``condgan train`` is the command line."""

import logging
import warnings
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import rich
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from condgan.atomic import remove_stale_temp_files
from condgan.checkpoints.io import SafeCheckpointIO, resume_log_step
from condgan.errors import ConfigError
from condgan.metrics import forget_cached_measurements
from condgan.training.config_checks import check_before_fit, check_config
from condgan.training.console import quiet_console, start_wandb
from condgan.training.loggers import announce_wandb, close_loggers, configure_loggers
from condgan.training.precision import resolve_precision

log = logging.getLogger(__name__)


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every ``_target_`` entry of a group such as ``callbacks`` or ``logger`` (None entries skipped)."""
    return [hydra.utils.instantiate(c) for c in (group or {}).values() if isinstance(c, DictConfig) and "_target_" in c]


@rank_zero_only
def save_resolved_config(cfg: DictConfig, output_dir: str) -> None:
    path = Path(output_dir) / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, path, resolve=True)


def apply_extras(extras: DictConfig | None, tags: Any) -> None:
    """The ``extras`` group (lightning-hydra-template's): silence warnings, insist on tags, print the config."""
    extras = extras or {}
    if extras.get("ignore_warnings"):
        warnings.filterwarnings("ignore")
    if extras.get("enforce_tags") and not tags:
        raise ConfigError("the run has no tags: pass tags=[name,...] (or extras.enforce_tags=false)")


@rank_zero_only
def print_config_tree(cfg: DictConfig) -> None:
    from rich.syntax import Syntax
    from rich.tree import Tree

    tree = Tree("config")
    for key, node in cfg.items():
        branch = tree.add(str(key))
        branch.add(Syntax(OmegaConf.to_yaml(node, resolve=True) if isinstance(node, DictConfig) else str(node), "yaml"))
    rich.print(tree)


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit (and test) the configured model; returns the last value of every metric (fit's and test's) as floats."""
    quiet_console()
    apply_extras(cfg.get("extras"), cfg.get("tags"))
    check_config(cfg)  # a bad setting fails here, in one line, before any data is read
    if cfg.get("extras", {}).get("print_config"):
        print_config_tree(cfg)
    resolve_precision(cfg.trainer)
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    forget_cached_measurements()  # this fit draws from the RNG as the same command alone would
    save_resolved_config(cfg, cfg.paths.output_dir)
    rank_zero_only(remove_stale_temp_files)(cfg.paths.output_dir)  # left by a run killed while saving
    configure_loggers(cfg.get("logger"), resume_log_step(cfg.get("ckpt_path"), cfg.paths.output_dir))

    datamodule: L.LightningDataModule = hydra.utils.instantiate(cfg.datamodule)
    model: L.LightningModule = hydra.utils.instantiate(cfg.model)
    callbacks, loggers = instantiate_group(cfg.get("callbacks")), instantiate_group(cfg.get("logger"))
    trainer: L.Trainer = hydra.utils.instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=[SafeCheckpointIO()]
    )
    # The resolved config as plain types: logged as the run's hyperparameters (W&B config, CSV hparams.yaml)
    # and saved in every checkpoint, so the networks can be rebuilt from a checkpoint alone.
    model.save_hyperparameters(OmegaConf.to_container(cfg, resolve=True))
    check_before_fit(cfg, datamodule, model, trainer)
    start_wandb(loggers)
    announce_wandb(loggers)

    metrics: dict[str, float] = {}
    try:
        if cfg.get("train", True):
            trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
            metrics.update(plain_metrics(trainer))  # read now: the test stage replaces callback_metrics
        if cfg.get("test", False):
            trainer.test(model, datamodule=datamodule)  # the weights just trained; nothing reloaded
            metrics.update(plain_metrics(trainer))
    finally:
        close_loggers()
    log.info("Run folder: %s", cfg.paths.output_dir)
    return metrics


def plain_metrics(trainer: L.Trainer) -> dict[str, float]:
    return {k: float(v) for k, v in trainer.callback_metrics.items()}


def optimized_metric(metrics: dict[str, float], name: str | None) -> float | None:
    """The value a sweeper optimizes (``optimized_metric=val/fid``), or None when none is asked for."""
    if name is None:
        return None
    if name not in metrics:
        raise KeyError(
            f"optimized_metric={name} was not logged; logged metrics: {', '.join(sorted(metrics)) or 'none'}"
        )
    return metrics[name]
