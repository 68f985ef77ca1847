"""MNIST / Fashion-MNIST batches served straight from in-memory uint8 tensors (no PIL, no per-item work)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import lightning.pytorch as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.v2 import functional as TF

from condgan.data.idx import read_idx
from condgan.data.sources import dataset_spec, ensure_dataset, raw_dir

SPLIT_FILE_PREFIX = {"train": "train", "test": "t10k"}


def load_split(
    dataset: str, data_dir: str | Path, split: Literal["train", "test"], image_size: int = 28
) -> tuple[Tensor, Tensor]:
    """Load one split as (uint8 images N×1×S×S, int64 labels N), S = image_size.

    Resizing is done once on the whole tensor, bilinear with antialias like torchvision's Resize,
    rounded back to uint8. Reads only: fetch the files first with ``ensure_dataset``.
    """
    if split not in SPLIT_FILE_PREFIX:
        raise ValueError(f"unknown split {split!r}; use one of {sorted(SPLIT_FILE_PREFIX)}")
    raw = raw_dir(dataset, data_dir)
    image_path = raw / f"{SPLIT_FILE_PREFIX[split]}-images-idx3-ubyte"
    label_path = raw / f"{SPLIT_FILE_PREFIX[split]}-labels-idx1-ubyte"
    for path in (image_path, label_path):
        if not path.exists():
            raise FileNotFoundError(
                f"{path} not found; fetch the dataset first: `python -m condgan.data {dataset} --data-dir {data_dir}`"
            )
    images, labels = read_idx(image_path), read_idx(label_path)  # N×H×W, N
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{image_path} / {label_path}: expected images N×H×W and labels N, got {tuple(images.shape)} "
            f"and {tuple(labels.shape)}; delete {raw} and fetch the dataset again"
        )
    images = images.unsqueeze(1)  # N×1×H×W
    if images.shape[-2:] != (image_size, image_size):
        images = TF.resize(images, [image_size, image_size], antialias=True)  # uint8 in, uint8 out
    return images, labels.long()


class InMemoryImages(Dataset):
    """uint8 images N×C×H×W and int64 labels N, turned into float32 in [-1, 1] a whole batch at a time.

    DataLoader calls ``__getitems__(indices)`` when it exists (torch/utils/data/_utils/fetch.py), so a
    batch is one indexing op; ``keep_batch`` as collate_fn then passes the (images, labels) tuple through.
    Samplers are untouched, so Lightning can still inject a DistributedSampler.
    """

    def __init__(self, images: Tensor, labels: Tensor) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4 or labels.shape != (len(images),):
            raise ValueError(
                f"expected uint8 images N×C×H×W and labels N, got {images.dtype} {tuple(images.shape)} "
                f"and {tuple(labels.shape)}"
            )
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return to_unit_range(self.images[index]), self.labels[index]

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        batch = torch.as_tensor(indices)
        return to_unit_range(self.images[batch]), self.labels[batch]  # B×C×H×W float32, B int64


def to_unit_range(images: Tensor) -> Tensor:
    """uint8 [0, 255] → float32 [-1, 1] (the range of a tanh generator)."""
    return images.float().div_(127.5).sub_(1)


def keep_batch(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """collate_fn for InMemoryImages: the batch is already stacked. Module-level so workers can pickle it."""
    return batch


class IdxDataModule(pl.LightningDataModule):
    """MNIST or Fashion-MNIST from torchvision-layout idx files; batches are (float32 B×1×S×S in [-1, 1], int64 B).

    Train and validation split the 60k training file by a seeded permutation (``val_size`` images for
    validation); test is the 10k t10k file. With ``val_size=0`` all 60k images train and validation
    uses the test split.
    """

    def __init__(
        self,
        dataset: str = "mnist",
        data_dir: str = "data/",
        image_size: int = 28,
        batch_size: int = 64,
        val_size: int = 5000,
        num_workers: int = 0,
        pin_memory: bool = False,
        split_seed: int = 42,
        try_download: bool = True,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()  # logged with the run
        if val_size < 0 or image_size < 1 or batch_size < 1:
            raise ValueError(
                f"need val_size >= 0, image_size >= 1 and batch_size >= 1, got {val_size}, {image_size}, {batch_size}"
            )
        self.dataset = dataset
        self.data_dir = data_dir
        self.image_size = image_size
        self.batch_size = batch_size
        self.val_size = val_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.split_seed = split_seed
        self.try_download = try_download

        self.class_names = list(dataset_spec(dataset).class_names)
        self.num_classes = len(self.class_names)
        self.channels = 1
        self.image_shape = (self.channels, image_size, image_size)
        self.train_set: InMemoryImages | None = None
        self.val_set: InMemoryImages | None = None
        self.test_set: InMemoryImages | None = None

    def prepare_data(self) -> None:
        ensure_dataset(self.dataset, self.data_dir, try_download=self.try_download)

    @property
    def batch_size_per_device(self) -> int:
        """``batch_size`` is global: each of the world's processes loads its share."""
        world_size = self.trainer.world_size if self.trainer is not None else 1
        if self.batch_size % world_size:
            raise ValueError(
                f"datamodule.batch_size={self.batch_size} is the global batch and must divide evenly over "
                f"{world_size} processes; pick a multiple of {world_size}."
            )
        return self.batch_size // world_size

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:  # every stage shares the tensors loaded on the first call
            return
        images, labels = load_split(self.dataset, self.data_dir, "train", self.image_size)
        if self.val_size >= len(labels):
            raise ValueError(f"val_size={self.val_size} leaves no training images out of {len(labels)}; lower it")
        self.test_set = InMemoryImages(*load_split(self.dataset, self.data_dir, "test", self.image_size))
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(self.split_seed))
        val_indices, train_indices = order[: self.val_size], order[self.val_size :]
        self.train_set = InMemoryImages(images[train_indices], labels[train_indices])
        self.val_set = InMemoryImages(images[val_indices], labels[val_indices]) if self.val_size else self.test_set

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, train=False)

    def _loader(self, dataset: InMemoryImages | None, train: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError("IdxDataModule: call setup() before asking for a dataloader")
        return DataLoader(
            dataset,
            batch_size=self.batch_size_per_device,
            shuffle=train,
            drop_last=train,  # GAN losses and batch norm want full batches
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            collate_fn=keep_batch,
        )
