"""condgan's Trainer: Lightning's, taking the settings condgan's trainer configs allow.

``trainer.precision=auto`` (bf16-mixed where the device computes bfloat16 natively), the assignment's Lightning
1.x ``trainer.gpus``, and DDP strategy names spelled out with the settings a GAN needs. Because the class does
it, ``hydra.utils.instantiate(cfg.trainer)`` gives a working Trainer anywhere (a test, a notebook, a template
user's own script), not only inside ``condgan.training.train``.
"""

from typing import Any

import lightning as L
import torch

from condgan.errors import ConfigError
from condgan.training.compat import devices_from_gpus, gan_ready_strategy
from condgan.training.precision import auto_precision


def check_gpu_available(accelerator: str, gpus: Any) -> None:
    """Refuse, naming the setting, a GPU asked for where torch sees none (Lightning's words name neither)."""
    asked = f"trainer.gpus={gpus}" if gpus not in (None, 0, "0", "", []) else None
    asked = asked or (f"trainer.accelerator={accelerator}" if accelerator in ("gpu", "cuda") else None)
    if asked and not torch.cuda.is_available():
        raise ConfigError(f"{asked} asks for a GPU, and torch sees none here: pass trainer.gpus=0 or trainer=cpu")


class Trainer(L.Trainer):
    def __init__(
        self,
        *,
        accelerator: str = "auto",
        devices: Any = "auto",
        strategy: Any = "auto",
        precision: Any = "auto",
        gpus: Any = None,
        **kwargs: Any,
    ):
        check_gpu_available(accelerator, gpus)
        if gpus is not None:
            accelerator, devices = devices_from_gpus(gpus)
        if precision == "auto":
            precision = auto_precision(accelerator)[0]
        super().__init__(
            accelerator=accelerator,
            devices=devices,
            strategy=gan_ready_strategy(strategy),
            precision=precision,
            **kwargs,
        )
