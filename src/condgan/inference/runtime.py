"""A generator ready for inference: an ONNX export (ONNX Runtime, no torch), or a training checkpoint or a
safetensors export (PyTorch).

Both draw their noise from ``condgan.inference.noise`` (numpy): one seed, one set of images, whichever file is served
(ONNX Runtime's floats differ from PyTorch's by ~1e-7). Serving an ONNX export never imports torch, so it
runs from ``pip install condgan`` alone.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from condgan.checkpoints.sidecar import REEXPORT, read_sidecar
from condgan.dependencies import require
from condgan.errors import UserError
from condgan.inference.images import to_uint8
from condgan.inference.noise import class_grid_inputs, labels_per_row, latent_noise, walk_inputs
from condgan.inference.onnx_generator import OnnxGenerator

TORCH_SUFFIXES = (".ckpt", ".safetensors")
GeneratorFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # noise (B, Z), labels (B,) → images (B, C, H, W)


class ModelLoadError(UserError, ValueError):
    """The model file cannot be served: the message says which file, what is wrong and what to do."""


@dataclass(frozen=True)
class InferenceModel:
    """A loaded generator and its metadata (``condgan.inference.metadata.generator_metadata``, paths as file names)."""

    generator: GeneratorFn
    metadata: dict[str, Any]

    @property
    def num_classes(self) -> int:
        return self.metadata["num_classes"]

    @property
    def latent_dim(self) -> int:
        return self.metadata["latent_dim"]

    def render(self, noise: np.ndarray, labels: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """uint8 images (N, C, H, W) for noise (N, Z) and labels (N,), ``batch_size`` images a generator call."""
        calls = range(0, len(labels), batch_size)
        return np.concatenate(
            [to_uint8(self.generator(noise[i : i + batch_size], labels[i : i + batch_size])) for i in calls]
        )

    def images(
        self, labels: np.ndarray, seed: int, truncation: float | None = None, batch_size: int = 1000
    ) -> np.ndarray:
        """One image per label, the noise of ``latent_noise(len(labels), Z, seed, truncation)`` (inference.noise)."""
        return self.render(latent_noise(len(labels), self.latent_dim, seed, truncation), labels, batch_size)

    @property
    def conditions(self) -> dict[str, list[str]] | None:
        """{condition: values} when a label stands for several (``Sidecar.conditions``), else None."""
        return self.metadata.get("conditions")

    def grid_columns(self, labels: np.ndarray, n: int) -> int:
        """Images a row of a grid of ``n`` images per label: n · ``labels_per_row`` (a group's styles share one)."""
        return n * labels_per_row(labels, self.conditions)

    def class_grid(
        self, n_cols: int, seed: int, truncation: float | None = None, labels: np.ndarray | None = None
    ) -> np.ndarray:
        """Every class (or ``labels``), ``n_cols`` images each, class-major; image j of each class shares its noise."""
        columns = latent_noise(n_cols, self.latent_dim, seed, truncation)
        return self.render(*class_grid_inputs(columns, self.num_classes if labels is None else labels))

    def walk(
        self, labels: np.ndarray, seed: int, seed_to: int, steps: int, truncation: float | None = None
    ) -> np.ndarray:
        """``steps`` rows walking from ``seed``'s noise to ``seed_to``'s, one image per label a row."""
        return self.render(*walk_inputs(self.latent_dim, labels, seed, seed_to, steps, truncation))


def load_inference_model(path: str | Path, threads: int | None = None) -> InferenceModel:
    """Load an ``.onnx`` or ``.safetensors`` with its ``.json``, or a ``.ckpt`` (weights-only, the EMA generator
    when the run kept one).

    The file's extension picks the loader; nothing read from the file does. The served metadata names files
    without their folders (no server paths in /metadata).
    """
    path = Path(path)
    if path.suffix == ".onnx":
        generator, metadata = load_onnx_generator(path, threads)
    elif path.suffix in TORCH_SUFFIXES:
        generator, metadata = load_torch_generator(path, threads)
    else:
        raise ModelLoadError(
            f"cannot load {path}: pass a training checkpoint (.ckpt) or an export (.onnx or .safetensors, made by "
            f"`condgan export ckpt_path=<checkpoint> format=onnx`)"
        )
    metadata = {k: v for k, v in metadata.items() if k != "config"}  # a safetensors file's training config stays here
    metadata = {**metadata, "source_checkpoint": Path(metadata["source_checkpoint"]).name, "model_file": path.name}
    return InferenceModel(generator, metadata)


def load_onnx_generator(path: Path, threads: int | None) -> tuple[GeneratorFn, dict[str, Any]]:
    metadata = read_sidecar(path)  # first: it says which file is missing and how to make it
    if metadata["format"] != "onnx":
        raise ModelLoadError(f"{path}.json describes a {metadata['format']} export, not this .onnx file; {REEXPORT}")
    generator = OnnxGenerator(path, threads)
    declared = generator.input_shapes().get("noise")
    if declared is None or declared[1:] != [metadata["latent_dim"]]:
        raise ModelLoadError(
            f"{path} takes noise of shape {declared}, but its .json says latent_dim={metadata['latent_dim']}: "
            f"they belong to different exports; {REEXPORT}"
        )
    check_draws_what_the_sidecar_says(generator, metadata, path)
    return generator, metadata


def check_draws_what_the_sidecar_says(generator: GeneratorFn, metadata: dict[str, Any], path: Path) -> None:
    """One image of every class the .json names, at start: a .json that claims more classes than the graph has,
    or another image shape, is refused here rather than answered with errors later."""
    classes, shape = metadata["num_classes"], metadata["image_shape"]
    try:
        images = generator(np.zeros((classes, metadata["latent_dim"]), np.float32), np.arange(classes))
    except Exception as error:  # ONNX Runtime's own exception types, e.g. a label beyond the embedding
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
        raise ModelLoadError(
            f"{path} cannot draw the {classes} classes its .json names ({reason}): they belong to different "
            f"exports; {REEXPORT}"
        ) from None
    if list(images.shape[1:]) != list(shape):
        raise ModelLoadError(
            f"{path} draws images of shape {list(images.shape[1:])}, but its .json says image_shape={shape}: "
            f"they belong to different exports; {REEXPORT}"
        )


def load_torch_generator(path: Path, threads: int | None) -> tuple[GeneratorFn, dict[str, Any]]:
    """A checkpoint's or safetensors export's generator on PyTorch, called with numpy arrays like the ONNX one."""
    require("train", f"a {path.suffix} file (an .onnx export runs without PyTorch)")
    import torch  # here, not at the top: serving an ONNX export must not import torch

    from condgan.checkpoints.io import load_generator
    from condgan.inference.metadata import generator_metadata

    if threads:
        torch.set_num_threads(threads)
    module, config = load_generator(path)  # a bad or unsafe file: its CheckpointError says what is wrong

    def generate(noise: np.ndarray, labels: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(noise), torch.from_numpy(labels)).float().numpy()

    fmt = "safetensors" if path.suffix == ".safetensors" else "checkpoint"
    return generate, generator_metadata(module, config, path, fmt)
