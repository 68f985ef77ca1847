"""Spellings users bring from elsewhere: Lightning 1.x trainer arguments, the lightning-hydra-template's
``logger=null``."""

import logging
import re
from pathlib import Path

from omegaconf import DictConfig, OmegaConf, open_dict

log = logging.getLogger(__name__)


def map_gpus_flag(trainer_cfg: DictConfig) -> DictConfig:
    """Return a copy of the trainer config with ``gpus`` (removed in Lightning 2) turned into accelerator/devices.

    ``gpus=0`` → CPU; ``gpus=N`` → N GPUs; ``gpus=-1`` → all GPUs; ``gpus=[0, 2]`` → those GPUs.
    """
    cfg = OmegaConf.create(OmegaConf.to_container(trainer_cfg, resolve=True))  # resolved: the copy has no root
    with open_dict(cfg):
        gpus = cfg.pop("gpus", None)
        if gpus is None:
            return cfg
        if isinstance(gpus, str):
            gpus = [int(g) for g in gpus.split(",") if g.strip()] if "," in gpus else int(gpus)
        if gpus == 0 or gpus == []:
            cfg.accelerator, cfg.devices = "cpu", 1
        else:
            cfg.accelerator, cfg.devices = "gpu", gpus
    log.info(
        "trainer.gpus=%s is Lightning 1.x; using trainer.accelerator=%s trainer.devices=%s",
        gpus,
        cfg.accelerator,
        cfg.devices,
    )
    return cfg


def gan_ddp_settings() -> dict[str, bool]:
    """What DistributedDataParallel needs for a GAN step: find_unused_parameters (the D step leaves G's
    parameters without gradients, and vice versa) and no buffer sync in forward (two D forwards come before one
    backward: DDP's in-place copy of BatchNorm buffers would break autograd and overwrite each rank's statistics).
    torch ≥ 2.10 names the second ``forward_sync_buffers`` and deprecates ``broadcast_buffers``."""
    import inspect

    from torch.nn.parallel import DistributedDataParallel

    parameters = inspect.signature(DistributedDataParallel).parameters
    no_sync = "forward_sync_buffers" if "forward_sync_buffers" in parameters else "broadcast_buffers"
    return {"find_unused_parameters": True, no_sync: False}


def gan_ready_strategy(trainer_cfg: DictConfig) -> DictConfig:
    """Return a copy of the trainer config whose DDP strategy name (``ddp``, ``ddp_spawn``, ``ddp_fork``, ...)
    is spelled out as a ``DDPStrategy`` with the settings a GAN needs; any other strategy is left as it is."""
    from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry

    strategy = trainer_cfg.get("strategy")
    if not isinstance(strategy, str) or strategy not in StrategyRegistry:
        return trainer_cfg
    entry = StrategyRegistry[strategy]
    if not issubclass(entry["strategy"], DDPStrategy):
        return trainer_cfg
    cls = entry["strategy"]
    spelled_out = {"_target_": f"{cls.__module__}.{cls.__qualname__}", **gan_ddp_settings(), **entry["init_params"]}
    cfg = trainer_cfg.copy()
    with open_dict(cfg):
        cfg.strategy = spelled_out
    log.info(
        "trainer.strategy=%s: using DDPStrategy(%s)",
        strategy,
        ", ".join(f"{k}={v!r}" for k, v in spelled_out.items() if k != "_target_"),
    )
    return cfg


def null_group_overrides(args: list[str], config_dir: Path) -> list[str]:
    """``logger=null`` → ``logger=[]`` for every config group: the template's way to switch a group off, which
    Hydra itself refuses ("Config group override must be a string or a list"). Other arguments are unchanged."""
    null_choice = re.compile(r"(?P<group>[\w/]+)=(null|none|None)")
    return [
        f"{match['group']}=[]"
        if (match := null_choice.fullmatch(arg)) and (config_dir / match["group"]).is_dir()
        else arg
        for arg in args
    ]
