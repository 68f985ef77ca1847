"""Writing the raw idx format of MNIST-style files, as torchvision keeps them in ``<root>/<Name>/raw``.

Header (big-endian): two zero bytes, a type byte (0x08 = uint8, the only type used here), the number of
dimensions, then one uint32 per dimension. Images are N×H×W (magic 2051), labels N (magic 2049). torchvision
reads these files (``torchvision.datasets.mnist.read_image_file`` / ``read_label_file``) but has no writer: the
offline MNIST fallback converts arrays with this one.
"""

from __future__ import annotations

import struct

import numpy as np
import torch

UINT8_TYPE_CODE = 0x08


def encode_idx(array: np.ndarray | torch.Tensor) -> bytes:
    """Serialise a uint8 array with 1 to 3 dimensions to idx bytes."""
    array = array.numpy() if isinstance(array, torch.Tensor) else np.asarray(array)
    if array.dtype != np.uint8 or not 1 <= array.ndim <= 3:
        raise ValueError(
            f"idx encoding needs a uint8 array with 1 to 3 dimensions, got {array.dtype} {array.shape}; "
            "convert it first (e.g. labels with .astype(np.uint8))"
        )
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, UINT8_TYPE_CODE, array.ndim, *array.shape)
    return header + np.ascontiguousarray(array).tobytes()
