"""``trainer.precision=auto`` (the default): bf16-mixed where the device computes bfloat16 natively, else 32-true.

Measured on this project's 2-core CPU with AVX512-BF16 (docs/benchmarks.md): bf16 autocast gives the default
experiment 1.17× the images/s of float32 (1.43× with channels_last, which the default's model turns on) at the
same quality per step. Without native bf16 (most older CPUs, pre-Ampere GPUs) it is emulated and slower, so
there float32 stays.
"""

import logging
from pathlib import Path

from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo: x86 instructions that compute bfloat16


def cpu_bf16_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """The bf16 instruction-set flags a CPU reports in ``cpuinfo`` (Linux; empty elsewhere)."""
    try:
        words = set(cpuinfo.read_text().split())
    except OSError:
        return []
    return [flag for flag in CPU_BF16_FLAGS if flag in words]


def auto_precision(accelerator: str) -> tuple[str, str]:
    """(precision, why) for a trainer's accelerator (``auto``, ``cpu``, ``gpu``/``cuda``, ...)."""
    import torch

    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if on_gpu:
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False):
            return "bf16-mixed", f"{torch.cuda.get_device_name()} computes bfloat16"
        return "32-true", "this GPU has no native bfloat16"
    if accelerator not in ("auto", "cpu"):
        return "32-true", f"accelerator {accelerator}"
    flags = cpu_bf16_flags()
    if flags:
        return "bf16-mixed", f"this CPU has {'/'.join(flags)}"
    return "32-true", "this CPU has no bfloat16 instructions (avx512_bf16, amx_bf16)"


def resolve_precision(trainer_cfg: DictConfig) -> None:
    """Replace ``precision: auto`` in place by the choice of ``auto_precision``, and say it in one line; an
    explicit precision is left as it is. In place, so config.yaml and checkpoints record what ran."""
    if trainer_cfg.get("precision") != "auto":
        return
    gpus = trainer_cfg.get("gpus")  # Lightning 1.x: gpus=0 is the CPU (condgan.training.trainer.Trainer maps it)
    accelerator = "cpu" if gpus in (0, "0", []) else "gpu" if gpus is not None else trainer_cfg.get("accelerator")
    precision, why = auto_precision(str(accelerator or "auto"))
    with open_dict(trainer_cfg):
        trainer_cfg.precision = precision
    log.info("trainer.precision=auto: %s (%s; pass trainer.precision=32-true or bf16-mixed to choose)", precision, why)
