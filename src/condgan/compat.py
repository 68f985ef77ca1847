"""Lightning 1.x trainer arguments that the assignment's commands still use, mapped to Lightning 2."""

import logging

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
        gpus, cfg.accelerator, cfg.devices,
    )
    return cfg
