"""The web service: ``condgan-serve ckpt_path=<.ckpt or .onnx> [host=127.0.0.1] [port=8000] [threads=1]``."""

from condgan.serve.cli import main

__all__ = ["main"]
