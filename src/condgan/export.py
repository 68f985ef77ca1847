"""A checkpoint's generator as one self-contained file (ONNX or TorchScript) plus ``<file>.json`` metadata.

The file takes ``noise`` float32 (B, Z) and ``labels`` int64 (B,) and returns ``images`` float32 (B, C, H, W)
in [-1, 1], for any batch size B. Every export is checked against PyTorch before it is kept.
"""

import json
import warnings
from pathlib import Path

import torch
from torch import nn

from condgan.atomic import atomic_write, atomic_write_bytes
from condgan.checkpoint import load_generator
from condgan.errors import UserError
from condgan.extras import require
from condgan.metadata import generator_metadata
from condgan.onnx_generator import OnnxGenerator
from condgan.sampling import latent_noise
from condgan.sidecar import metadata_path, validate

EXPORT_SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
TOLERANCE = 1e-4  # max |exported − PyTorch| over the check images; float32 reorderings stay far below it
EXAMPLE_BATCH = 2  # torch.export would treat a batch of 0 or 1 as a constant, not as the dynamic axis
CHECK_BATCHES = (1, 3)  # neither is the example's batch: checks that the batch axis really is dynamic


class ExportError(UserError, RuntimeError):
    """The exported file does not compute what the PyTorch generator computes."""


def example_inputs(generator: nn.Module, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    return latent_noise(batch, generator.latent_dim, seed=0), torch.arange(batch) % generator.num_classes


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


def write_torchscript(generator: nn.Module, path: Path) -> None:
    traced = torch.jit.trace(generator, example_inputs(generator, EXAMPLE_BATCH))
    atomic_write(path, lambda f: torch.jit.save(traced, f))


WRITERS = {"onnx": write_onnx, "torchscript": write_torchscript}


def torch_call(onnx_generator: OnnxGenerator):
    """The ONNX generator (numpy in and out) called like the PyTorch one: tensors in, a tensor out."""
    return lambda noise, labels: torch.from_numpy(onnx_generator(noise.numpy(), labels.numpy()))


def check_export(generator: nn.Module, path: Path, fmt: str) -> None:
    """Raise ExportError unless the file matches the generator within TOLERANCE at other batch sizes."""
    exported = torch_call(OnnxGenerator(path)) if fmt == "onnx" else torch.jit.load(str(path))
    for batch in CHECK_BATCHES:
        noise, labels = example_inputs(generator, batch)
        with torch.inference_mode():
            expected = generator(noise, labels)
            try:
                actual = exported(noise, labels)
            except Exception as error:  # ONNX Runtime raises its own exception types
                raise ExportError(
                    f"the {fmt} export of batch {EXAMPLE_BATCH} fails at batch {batch}: {error}"
                ) from error
        diff = (actual - expected).abs().max().item()
        if diff > TOLERANCE:
            raise ExportError(
                f"the {fmt} export differs from PyTorch by {diff:.2e} (> {TOLERANCE:.0e}) at batch {batch}"
            )


def export_path(ckpt_path: str | Path, fmt: str, out: str | Path | None) -> Path:
    if fmt not in EXPORT_SUFFIXES:
        raise ValueError(f"unknown format={fmt!r}: use format=onnx or format=torchscript")
    suffix = EXPORT_SUFFIXES[fmt]
    path = Path(ckpt_path).with_suffix(suffix) if out is None else Path(out)
    if path.suffix != suffix:
        raise ValueError(f"out={path} does not end in {suffix}, the extension of format={fmt}: use out=<name>{suffix}")
    return path


def export_generator(ckpt_path: str | Path, fmt: str, out: str | Path | None = None) -> Path:
    """Write the checkpoint's generator (its EMA one when the run kept one) as ``fmt`` and return the path.

    ``out`` defaults to the checkpoint's path with the format's extension (.onnx, .pt); the metadata goes to
    ``<out>.json``. A file that fails the check is deleted, so no wrong export is left behind.
    """
    path = export_path(ckpt_path, fmt, out)  # before the export work, not after it
    if fmt == "onnx":
        require("export", "format=onnx")
    generator, config = load_generator(ckpt_path)
    WRITERS[fmt](generator, path)
    try:
        check_export(generator, path, fmt)
    except ExportError:
        path.unlink()
        raise
    metadata = validate(generator_metadata(generator, config, ckpt_path, fmt), metadata_path(path))  # as read
    atomic_write_bytes(metadata_path(path), (json.dumps(metadata, indent=2) + "\n").encode())
    return path
