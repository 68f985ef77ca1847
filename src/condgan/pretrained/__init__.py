"""The generator condgan ships, so that ``condgan generate`` and ``condgan serve`` work before any training.

``mnist_dcgan``: the default experiment's generator (``condgan train``), as ONNX and as safetensors, each with
its ``.json`` metadata; PROVENANCE.md says how it was trained and what ``condgan eval`` measured on it.
"""

from importlib.resources import files
from pathlib import Path

NAME = "mnist_dcgan"
FORMATS = ("onnx", "safetensors")


def pretrained_path(fmt: str = "onnx") -> Path:
    """The shipped generator's file in ``fmt`` (onnx: no torch needed; safetensors: PyTorch, eval and export)."""
    if fmt not in FORMATS:
        raise ValueError(f"the shipped generator comes as {' or '.join(FORMATS)}, not {fmt!r}")
    return Path(str(files(__name__) / f"{NAME}.{fmt}"))
