"""Checkpoints that are safe to load and never half-written.

Saving: write to a temporary file beside the target, fsync, then ``os.replace`` — a run killed at any
moment leaves either the previous complete file or the new one. Loading: ``torch.load(weights_only=True)``
only, so a checkpoint cannot run code; one that would need to is refused with an explanation.
"""

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

from condgan.atomic import atomic_write
from condgan.errors import CheckpointError

__all__ = ["CheckpointError", "atomic_save", "load_checkpoint", "load_generator"]


def atomic_save(obj: Any, path: _PATH) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))


def load_checkpoint(path: _PATH, map_location: Any = "cpu") -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` with errors that say what is wrong and what to do."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"Checkpoint not found: {path}. Pass ckpt_path=<run folder>/checkpoints/last.ckpt of an existing run."
        )
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        reason = str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"Refusing to load {path}: it needs unpickling of code, and condgan checkpoints hold only state "
            f"dicts and plain config ({reason}). If you trust the file, load it with "
            "torch.load(..., weights_only=False), keep only tensors/plain types and save it again."
        ) from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise CheckpointError(f"Cannot read checkpoint {path}: it is truncated or corrupt ({e}).") from e


class SafeCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint plugin with atomic saves and weights-only loads."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        atomic_save(checkpoint, path)

    def load_checkpoint(self, path: _PATH, map_location: Any = None, weights_only: bool | None = None) -> dict:
        if weights_only is False:
            raise CheckpointError("condgan loads checkpoints with weights_only=True only; do not pass weights_only=False.")
        return load_checkpoint(path, map_location=map_location or "cpu")


def load_generator(path: _PATH, map_location: Any = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the generator of a training checkpoint (in eval mode) and return it with the run's plain config.

    Works from the checkpoint alone: the network is built from the config saved in it
    (``hyper_parameters``, written by ``condgan.train``), then its weights are loaded: the EMA generator's
    (``generator_ema.module.*``) when the run kept one, else ``generator.*``.
    """
    import hydra  # here: a plain load_checkpoint should not pay for importing Hydra

    ckpt = load_checkpoint(path, map_location=map_location)
    config = ckpt.get("hyper_parameters") or {}
    generator_cfg = config.get("model", {}).get("generator")
    if generator_cfg is None or "state_dict" not in ckpt:
        raise CheckpointError(
            f"{path} is not a condgan training checkpoint (no model.generator config or state_dict); "
            "use a <run folder>/checkpoints/*.ckpt written by run.py."
        )
    generator = hydra.utils.instantiate(generator_cfg)
    ema = any(k.startswith("generator_ema.module.") for k in ckpt["state_dict"])
    prefix = "generator_ema.module." if ema else "generator."
    weights = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    generator.load_state_dict(weights)
    return generator.eval(), config
