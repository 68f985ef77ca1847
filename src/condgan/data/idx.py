"""The raw idx format of MNIST-style files, as torchvision keeps them in ``<root>/<Name>/raw``.

Header (big-endian): two zero bytes, a type byte (0x08 = uint8, the only type used here),
the number of dimensions, then one uint32 per dimension. Images are N×H×W (magic 2051),
labels N (magic 2049). Paths ending in ``.gz`` are read and written gzip-compressed.
"""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np
import torch

from condgan.atomic import atomic_write_bytes

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


def decode_idx(data: bytes | bytearray, source: str = "<bytes>") -> torch.Tensor:
    """Parse idx bytes into a uint8 tensor of the shape the header declares."""
    if len(data) < 4:
        raise ValueError(f"{source}: {len(data)} bytes is too short for an idx header; it is truncated, fetch it again")
    zero, type_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or type_code != UINT8_TYPE_CODE or not 1 <= ndim <= 3:
        raise ValueError(
            f"{source}: header {bytes(data[:4]).hex()} is not a uint8 idx file (expected 0000 08 01..03); "
            "is it still gzip-compressed or a different format?"
        )
    offset = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", data[4:offset])
    if len(data) != offset + math.prod(shape):
        raise ValueError(
            f"{source}: header declares shape {shape} ({offset + math.prod(shape)} bytes) "
            f"but the file has {len(data)} bytes; it is truncated or corrupt, fetch it again"
        )
    # bytearray: torch.frombuffer needs a writable buffer to hand out a normal tensor.
    return torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=offset).view(shape)


def read_idx(path: str | Path) -> torch.Tensor:
    """Read a (possibly ``.gz``) idx file into a uint8 tensor."""
    path = Path(path)
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return decode_idx(data, source=str(path))


def write_idx(path: str | Path, array: np.ndarray | torch.Tensor) -> None:
    """Write a uint8 array as an idx file (gzip-compressed when the path ends in ``.gz``), atomically."""
    data = encode_idx(array)
    if str(path).endswith(".gz"):
        data = gzip.compress(data, mtime=0)  # mtime=0: same input gives the same bytes
    atomic_write_bytes(path, data)
