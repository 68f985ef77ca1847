"""A generator ready for inference, from an ONNX export (ONNX Runtime, no torch) or a training checkpoint (PyTorch).

Both draw their noise from ``condgan.noise`` (numpy): one seed, one set of images, whichever file is served
(ONNX Runtime's floats differ from PyTorch's by ~1e-7). Serving an ONNX export never imports torch, so it
runs from ``pip install 'condgan[serve]'`` alone.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from condgan.errors import UserError
from condgan.extras import require
from condgan.images import to_uint8
from condgan.noise import class_grid_inputs, latent_noise, walk_inputs
from condgan.onnx_generator import OnnxGenerator
from condgan.sidecar import REEXPORT, read_sidecar

GeneratorFn = Callable[[np.ndarray, np.ndarray], np.ndarray]  # noise (B, Z), labels (B,) → images (B, C, H, W)


class ModelLoadError(UserError, ValueError):
    """The model file cannot be served: the message says which file, what is wrong and what to do."""


@dataclass(frozen=True)
class InferenceModel:
    """A loaded generator and its metadata (``condgan.metadata.generator_metadata``, paths as file names)."""

    generator: GeneratorFn
    metadata: dict[str, Any]

    @property
    def num_classes(self) -> int:
        return self.metadata["num_classes"]

    @property
    def latent_dim(self) -> int:
        return self.metadata["latent_dim"]

    def render(self, noise: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """uint8 images (N, C, H, W) for noise (N, Z) and labels (N,), in one batched generator call."""
        return to_uint8(self.generator(noise, labels))

    def images(self, labels: np.ndarray, seed: int, truncation: float | None = None) -> np.ndarray:
        """One image per label, the noise of ``condgan.noise.latent_noise(len(labels), Z, seed, truncation)``."""
        return self.render(latent_noise(len(labels), self.latent_dim, seed, truncation), labels)

    def class_grid(self, n_cols: int, seed: int, truncation: float | None = None) -> np.ndarray:
        """Every class, ``n_cols`` images each, class-major; column j shares its noise across the classes."""
        columns = latent_noise(n_cols, self.latent_dim, seed, truncation)
        return self.render(*class_grid_inputs(columns, self.num_classes))

    def walk(
        self, labels: np.ndarray, seed: int, seed_to: int, steps: int, truncation: float | None = None
    ) -> np.ndarray:
        """``steps`` rows walking from ``seed``'s noise to ``seed_to``'s, one image per label a row."""
        return self.render(*walk_inputs(self.latent_dim, labels, seed, seed_to, steps, truncation))


def load_inference_model(path: str | Path, threads: int | None = None) -> InferenceModel:
    """Load an ``.onnx`` with its ``.json`` or a ``.ckpt`` (weights-only, EMA generator when the run kept one).

    The file's extension picks the loader; nothing read from the file does. The served metadata names files
    without their folders (no server paths in /metadata).
    """
    path = Path(path)
    if path.suffix == ".onnx":
        generator, metadata = load_onnx(path, threads)
    elif path.suffix == ".ckpt":
        generator, metadata = load_checkpoint(path, threads)
    else:
        raise ModelLoadError(
            f"cannot serve {path}: pass a training checkpoint (.ckpt) or an ONNX export (.onnx, made by "
            f"`python export.py ckpt_path=<checkpoint> format=onnx`)"
        )
    metadata = {**metadata, "source_checkpoint": Path(metadata["source_checkpoint"]).name, "model_file": path.name}
    return InferenceModel(generator, metadata)


def load_onnx(path: Path, threads: int | None) -> tuple[GeneratorFn, dict[str, Any]]:
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
    return generator, metadata


def load_checkpoint(path: Path, threads: int | None) -> tuple[GeneratorFn, dict[str, Any]]:
    """A training checkpoint's generator on PyTorch, called with numpy arrays like the ONNX one."""
    require("", "serving a .ckpt (serve its ONNX export to run without PyTorch)")
    import torch  # here, not at the top: serving an ONNX export must not import torch

    from condgan.checkpoint import load_generator
    from condgan.metadata import generator_metadata

    if threads:
        torch.set_num_threads(threads)
    module, config = load_generator(path)  # a bad or unsafe file: its CheckpointError says what is wrong

    def generate(noise: np.ndarray, labels: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(noise), torch.from_numpy(labels)).float().numpy()

    return generate, generator_metadata(module, config, path, fmt="checkpoint")
