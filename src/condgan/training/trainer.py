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
        if gpus is not None:
            accelerator, devices = devices_from_gpus(gpus)
        if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
            asked = f"trainer.gpus={gpus}" if gpus is not None else f"trainer.accelerator={accelerator}"
            raise ConfigError(f"{asked} asks for a GPU, and torch sees none here: pass trainer.gpus=0 or trainer=cpu")
        if precision == "auto":
            precision = auto_precision(accelerator)[0]
        super().__init__(
            accelerator=accelerator,
            devices=devices,
            strategy=gan_ready_strategy(strategy),
            precision=precision,
            **kwargs,
        )
