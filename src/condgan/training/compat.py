"""Spellings users bring from elsewhere: Lightning 1.x trainer arguments, the lightning-hydra-template's
``logger=null``."""

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def devices_from_gpus(gpus: Any) -> tuple[str, Any]:
    """(accelerator, devices) for Lightning 1.x's ``gpus`` (removed in Lightning 2), said in one log line.

    ``gpus=0`` → CPU; ``gpus=N`` → N GPUs; ``gpus=-1`` → all GPUs; ``gpus=[0, 2]`` or ``"0,2"`` → those GPUs.
    """
    if isinstance(gpus, str):
        gpus = [int(g) for g in gpus.split(",") if g.strip()] if "," in gpus else int(gpus)
    accelerator, devices = (
        ("cpu", 1) if gpus in (0, []) else ("gpu", list(gpus) if isinstance(gpus, Sequence) else gpus)
    )
    log.info(
        "trainer.gpus=%s is Lightning 1.x; using trainer.accelerator=%s trainer.devices=%s", gpus, accelerator, devices
    )
    return accelerator, devices


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


def gan_ready_strategy(strategy: Any) -> Any:
    """A DDP strategy name (``ddp``, ``ddp_spawn``, ``ddp_fork``, ...) as a ``DDPStrategy`` with the settings a GAN
    needs; any other strategy (a name or an object) is returned as it is."""
    from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry

    if not isinstance(strategy, str) or strategy not in StrategyRegistry:
        return strategy
    entry = StrategyRegistry[strategy]
    if not issubclass(entry["strategy"], DDPStrategy):
        return strategy
    settings = {**gan_ddp_settings(), **entry["init_params"]}
    log.info(
        "trainer.strategy=%s: using DDPStrategy(%s)", strategy, ", ".join(f"{k}={v!r}" for k, v in settings.items())
    )
    return entry["strategy"](**settings)


TEMPLATE_GROUPS = {"data": "datamodule"}  # lightning-hydra-template's group names → condgan's
EXISTING_KEYS = ("trainer.",)  # set by our configs, appended to (`+key=`) by template users: `++` sets either way


def template_overrides(args: list[str], config_dir: Path) -> list[str]:
    """Spellings lightning-hydra-template users type, as Hydra takes them; other arguments are unchanged.

    ``data=mnist`` / ``data.batch_size=8`` → ``datamodule=...``; ``logger=null`` → ``logger=[]`` for every config
    group (Hydra refuses null for a group); ``+trainer.limit_val_batches=2`` → ``++...`` (a key a config already
    sets cannot be appended).
    """
    rewritten = []
    for arg in args:
        stripped = arg.lstrip("+")
        plus, (key, eq, value) = arg[: len(arg) - len(stripped)], stripped.partition("=")
        group, dot, sub = key.partition(".")
        key = TEMPLATE_GROUPS.get(group, group) + dot + sub
        if plus == "+" and key.startswith(EXISTING_KEYS):
            plus = "++"
        if not plus and value in ("null", "none", "None") and (config_dir / key).is_dir():
            value = "[]"
        rewritten.append(f"{plus}{key}{eq}{value}")
    return rewritten
