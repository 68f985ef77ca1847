"""CIFAR-10 (RGB 32×32, 10 classes) in torchvision's layout: the pickled batches in ``<data_dir>/cifar-10-batches-py``.

``ensure_cifar10`` tries, in order: batch files already there; the archive ``<data_dir>/cifar-10-python.tar.gz``;
torchvision's download. Batch files and archive are checked against torchvision's MD5s, and the batches are
read with an unpickler that builds numpy arrays only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torchvision.datasets import CIFAR10
from torchvision.datasets.utils import calculate_md5, download_and_extract_archive, extract_archive

from condgan.data.datamodule import InMemoryDataModule, LabelledImages, square_resize
from condgan.data.sources import (
    ChecksumError,
    NumpyArraysUnpickler,
    Source,
    count_verified,
    fail_fast_download,
    fetch_first,
)

log = logging.getLogger(__name__)

SPLIT_BATCHES = {"train": [name for name, _ in CIFAR10.train_list], "test": [name for name, _ in CIFAR10.test_list]}
MD5: dict[str, str] = dict(CIFAR10.train_list + CIFAR10.test_list)  # batch file name: MD5
ARCHIVE_MD5 = CIFAR10.tgz_md5
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SIDE = 32
LABEL = "CIFAR-10"  # in log lines and errors


def batches_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / CIFAR10.base_folder


def ensure_cifar10(data_dir: str | Path, *, try_download: bool = True) -> Path:
    """Return the folder holding the six MD5-verified batch files, extracting or downloading them if needed.

    Raises ``ChecksumError`` if batch files already there are not the official ones (they are never
    overwritten) and ``DatasetUnavailableError`` if every source fails.
    """
    folder = batches_dir(data_dir)
    archive = Path(data_dir) / CIFAR10.filename
    present = count_verified(LABEL, folder, MD5)
    if present == len(MD5):
        log.info("%s: files present in %s (MD5 verified)", LABEL, folder)
        return folder
    attempts = [f"local files: {present} of {len(MD5)} batch files present in {folder}"]
    sources: list[Source] = []
    if archive.exists():
        sources.append((f"archive {archive}", lambda: _extract_verified(archive)))
    else:
        attempts.append(f"archive: no {archive}")
    if try_download:
        sources.append(("torchvision download", lambda: _download(data_dir)))
    else:
        attempts.append("torchvision download: skipped (try_download=False)")
    how_to_fix = (
        f"To fix, download {CIFAR10.url} (MD5 {ARCHIVE_MD5}) where there is internet access and put it in "
        f"{Path(data_dir)}, or put its extracted {CIFAR10.base_folder} folder there; then run "
        f"`python -m condgan.data cifar10 --data-dir {data_dir}`."
    )
    fetch_first(LABEL, folder, MD5, sources, attempts, how_to_fix)
    return folder


def _extract_verified(archive: Path) -> None:
    if (md5 := calculate_md5(archive)) != ARCHIVE_MD5:
        raise ChecksumError(f"{archive} has MD5 {md5}, expected {ARCHIVE_MD5}: truncated or not the official file")
    extract_archive(str(archive), str(archive.parent))  # the official archive, so its paths are safe


def _download(data_dir: str | Path) -> None:
    """Download and extract the archive; the archive only, as torchvision's CIFAR10 class would also unpickle it."""
    with fail_fast_download():
        download_and_extract_archive(CIFAR10.url, str(data_dir), filename=CIFAR10.filename, md5=ARCHIVE_MD5)


def load_cifar10_split(
    data_dir: str | Path, split: Literal["train", "test"], image_size: int = SIDE
) -> LabelledImages:
    """Load one split as (uint8 images N×3×S×S, int64 labels N), S = image_size. Fetch with ``ensure_cifar10``."""
    if split not in SPLIT_BATCHES:
        raise ValueError(f"unknown split {split!r}; use one of {sorted(SPLIT_BATCHES)}")
    batches = [_read_batch(batches_dir(data_dir) / name, data_dir) for name in SPLIT_BATCHES[split]]
    images, labels = (torch.cat(parts) for parts in zip(*batches))
    return square_resize(images, image_size), labels


def _read_batch(path: Path, data_dir: str | Path) -> LabelledImages:
    """One pickled batch: {"data": uint8 N×3072 (R, G then B plane, each 32×32 row-major), "labels": N ints}."""
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found; fetch CIFAR-10 first: `python -m condgan.data cifar10 --data-dir {data_dir}`"
        )
    batch = NumpyArraysUnpickler(path.read_bytes(), str(path)).load()
    data, labels = (batch.get("data"), batch.get("labels")) if isinstance(batch, dict) else (None, None)
    is_batch = isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.shape[1:] == (3 * SIDE * SIDE,)
    if not (is_batch and labels is not None and len(labels) == len(data)):
        raise ValueError(
            f"{path} is not a CIFAR-10 python batch (a dict of uint8 'data' N×3072 and N 'labels'); "
            f"delete {path.parent} and fetch CIFAR-10 again"
        )
    return torch.from_numpy(data).view(-1, 3, SIDE, SIDE), torch.as_tensor(labels, dtype=torch.int64)


class Cifar10DataModule(InMemoryDataModule):
    """CIFAR-10: validation takes ``val_size`` of the 50k training images, test is the 10k test batch."""

    SUPPORTED_CHANNELS = (3,)

    def __init__(
        self,
        data_dir: str = "data/",
        image_size: int = SIDE,
        channels: int = 3,
        num_classes: int | None = None,
        batch_size: int = 64,
        val_size: int | float = 5000,
        num_workers: int = 0,
        pin_memory: bool = False,
        split_seed: int = 42,
        try_download: bool = True,
    ) -> None:
        super().__init__(
            data_dir=data_dir, image_size=image_size, channels=channels, class_names=CLASS_NAMES,
            num_classes=num_classes, batch_size=batch_size, val_size=val_size, num_workers=num_workers,
            pin_memory=pin_memory, split_seed=split_seed,
        )
        self.save_hyperparameters()  # logged with the run
        self.try_download = try_download

    def prepare_data(self) -> None:
        ensure_cifar10(self.data_dir, try_download=self.try_download)

    def load_splits(self) -> tuple[LabelledImages, LabelledImages]:
        train = load_cifar10_split(self.data_dir, "train", self.image_size)
        return train, load_cifar10_split(self.data_dir, "test", self.image_size)
