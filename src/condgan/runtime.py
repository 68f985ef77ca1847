"""A generator ready for inference, from a training checkpoint (PyTorch) or an ONNX export (ONNX Runtime).

Both answer ``images(labels, seed)`` with the noise of ``condgan.sampling.latent_noise``: one seed, one set of
images, whichever file is served (ONNX Runtime's floats differ from PyTorch's by ~1e-7).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from condgan.checkpoint import load_generator
from condgan.metadata import generator_metadata, metadata_path
from condgan.sampling import latent_noise, to_uint8

GeneratorFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # noise (B, Z), labels (B,) → images (B, C, H, W)


class OnnxGenerator:
    """An exported ``.onnx`` generator on ONNX Runtime's CPU provider; same call as the PyTorch module."""

    def __init__(self, path: str | Path, threads: int | None = None):
        import onnxruntime  # here: only ONNX users pay for importing it

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or 0  # 0: ONNX Runtime's default, one thread per core
        options.inter_op_num_threads = 1  # a generator is one chain of ops: nothing to run side by side
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # ONNX Runtime's own exception types, e.g. for a truncated file
            raise ValueError(
                f"ONNX Runtime cannot load {path} ({error}); export it again with "
                "`python export.py ckpt_path=<checkpoint> format=onnx`"
            ) from error

    def __call__(self, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        inputs = {"noise": noise.float().numpy(), "labels": labels.long().numpy()}  # float32 and int64
        (images,) = self.session.run(["images"], inputs)  # the session is thread-safe: no lock needed
        return torch.from_numpy(images)


@dataclass(frozen=True)
class InferenceModel:
    """A loaded generator and its metadata (``condgan.metadata.generator_metadata``)."""

    generator: GeneratorFn
    metadata: dict[str, Any]

    @property
    def num_classes(self) -> int:
        return self.metadata["num_classes"]

    def images(self, labels: torch.Tensor, seed: int) -> torch.Tensor:
        """uint8 images (N, C, H, W), one per label, in one batched generator call."""
        noise = latent_noise(len(labels), self.metadata["latent_dim"], seed)
        with torch.inference_mode():
            return to_uint8(self.generator(noise, labels))


def load_inference_model(path: str | Path, threads: int | None = None) -> InferenceModel:
    """Load a ``.ckpt`` (weights-only, EMA generator when the run kept one) or an ``.onnx`` with its ``.json``."""
    path = Path(path)
    if path.suffix == ".ckpt":
        generator, config = load_generator(path)
        return InferenceModel(generator, generator_metadata(generator, config, path, fmt="checkpoint"))
    if path.suffix == ".onnx":
        metadata = read_metadata(path)  # first: it says which file is missing and how to make it
        return InferenceModel(OnnxGenerator(path, threads), metadata)
    raise ValueError(
        f"cannot serve {path}: pass a training checkpoint (.ckpt) or an ONNX export (.onnx, made by "
        f"`python export.py ckpt_path=<checkpoint> format=onnx`)"
    )


def read_metadata(model_path: Path) -> dict[str, Any]:
    json_path = metadata_path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(
            f"{model_path} not found: export one with `python export.py ckpt_path=<checkpoint> format=onnx`"
        )
    if not json_path.is_file():
        raise FileNotFoundError(
            f"{json_path} not found: an exported model needs the metadata that export.py writes beside it; "
            "export again with `python export.py ckpt_path=<checkpoint> format=onnx`"
        )
    return json.loads(json_path.read_text())
