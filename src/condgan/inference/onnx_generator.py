"""An exported ``.onnx`` generator on ONNX Runtime's CPU provider: numpy in, numpy out, no torch."""

from pathlib import Path

import numpy as np


class OnnxGenerator:
    """``generator(noise, labels)``: noise float32 (B, Z) and labels int64 (B,) → images float32 (B, C, H, W)."""

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
                "`condgan export ckpt_path=<checkpoint> format=onnx`"
            ) from error

    def input_shapes(self) -> dict[str, list[int | str]]:
        """Each input's shape as the file declares it, e.g. {"noise": ["batch", 100], "labels": ["batch"]}."""
        return {node.name: list(node.shape) for node in self.session.get_inputs()}

    def __call__(self, noise: np.ndarray, labels: np.ndarray) -> np.ndarray:
        inputs = {"noise": np.asarray(noise, np.float32), "labels": np.asarray(labels, np.int64)}
        (images,) = self.session.run(["images"], inputs)  # the session is thread-safe: no lock needed
        return images
