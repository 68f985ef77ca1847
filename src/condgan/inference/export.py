"""A checkpoint's generator as one file plus ``<file>.json`` metadata: ONNX (a self-contained graph) or
safetensors (weights without pickle; the .json holds the config that rebuilds the network).

An ONNX file takes ``noise`` float32 (B, Z) and ``labels`` int64 (B,) and returns ``images`` float32
(B, C, H, W) in [-1, 1], for any batch size B. Every export is loaded back as ``condgan serve`` would load it
and checked against PyTorch before it is kept.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from condgan.atomic import atomic_write_bytes
from condgan.checkpoints.io import load_generator
from condgan.checkpoints.sidecar import metadata_path
from condgan.dependencies import require
from condgan.errors import UserError
from condgan.inference.metadata import generator_metadata
from condgan.inference.runtime import load_inference_model
from condgan.inference.sampling import latent_noise_tensor

EXPORT_SUFFIXES = {"onnx": ".onnx", "safetensors": ".safetensors"}
TOLERANCE = 1e-4  # max |exported − PyTorch| over the check images; float32 reorderings stay far below it
EXAMPLE_BATCH = 2  # torch.export would treat a batch of 0 or 1 as a constant, not as the dynamic axis
CHECK_BATCHES = (1, 3)  # neither is the example's batch: checks that the batch axis really is dynamic


class ExportError(UserError, RuntimeError):
    """The exported file does not compute what the PyTorch generator computes."""


def example_inputs(generator: nn.Module, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    return latent_noise_tensor(batch, generator.latent_dim, seed=0), torch.arange(batch) % generator.num_classes


def write_onnx(generator: nn.Module, path: Path) -> None:
    with warnings.catch_warnings():  # noise and labels share the "batch" axis, which is the point, not a problem
        warnings.filterwarnings("ignore", message="# The axis name: batch will not be used")
        program = torch.onnx.export(
            generator,
            example_inputs(generator, EXAMPLE_BATCH),
            input_names=["noise", "labels"],
            output_names=["images"],
            dynamic_shapes={"noise": {0: "batch"}, "labels": {0: "batch"}},
            dynamo=True,  # torch.export, the supported exporter (the TorchScript-based one is deprecated)
            external_data=False,  # the weights inside the file: one file to copy
            verbose=False,
        )
    atomic_write_bytes(path, program.model_proto.SerializeToString())


def write_safetensors(generator: nn.Module, path: Path) -> None:
    from safetensors.torch import save

    atomic_write_bytes(path, save({name: t.contiguous() for name, t in generator.state_dict().items()}))


WRITERS = {"onnx": write_onnx, "safetensors": write_safetensors}


def check_export(generator: nn.Module, path: Path, fmt: str) -> None:
    """Raise ExportError unless the file, loaded as the server loads it, matches the generator within TOLERANCE."""
    exported = load_inference_model(path).generator  # numpy in, numpy out, whichever the format
    for batch in CHECK_BATCHES:
        noise, labels = example_inputs(generator, batch)
        with torch.inference_mode():
            expected = generator(noise, labels).float().numpy()
        try:
            actual = exported(noise.numpy(), labels.numpy())
        except Exception as error:  # ONNX Runtime raises its own exception types
            raise ExportError(f"the {fmt} export of batch {EXAMPLE_BATCH} fails at batch {batch}: {error}") from error
        diff = float(np.abs(actual - expected).max())
        if diff > TOLERANCE:
            raise ExportError(
                f"the {fmt} export differs from PyTorch by {diff:.2e} (> {TOLERANCE:.0e}) at batch {batch}"
            )


def export_path(ckpt_path: str | Path, fmt: str, out: str | Path | None) -> Path:
    if fmt not in EXPORT_SUFFIXES:
        raise ValueError(f"unknown format={fmt!r}: use format=onnx or format=safetensors")
    suffix = EXPORT_SUFFIXES[fmt]
    path = Path(ckpt_path).with_suffix(suffix) if out is None else Path(out)
    if path.suffix != suffix:
        raise ValueError(f"out={path} does not end in {suffix}, the extension of format={fmt}: use out=<name>{suffix}")
    return path


def export_generator(ckpt_path: str | Path, fmt: str, out: str | Path | None = None) -> Path:
    """Write the checkpoint's generator (its EMA one when the run kept one) as ``fmt`` and return the path.

    ``out`` defaults to the checkpoint's path with the format's extension (.onnx, .safetensors); the metadata goes
    to ``<out>.json``. A file that fails the check is deleted with its metadata: no wrong export is left behind.
    """
    path = export_path(ckpt_path, fmt, out)  # before the export work, not after it
    if fmt == "onnx":
        require("export", "format=onnx")
    generator, config = load_generator(ckpt_path)
    WRITERS[fmt](generator, path)
    metadata = generator_metadata(generator, config, ckpt_path, fmt)  # built through the Sidecar schema
    atomic_write_bytes(metadata_path(path), (json.dumps(metadata, indent=2) + "\n").encode())
    try:
        check_export(generator, path, fmt)
    except Exception:
        path.unlink()
        metadata_path(path).unlink()
        raise
    return path
