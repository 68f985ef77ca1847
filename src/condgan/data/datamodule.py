"""Image datamodules served straight from in-memory uint8 tensors (no PIL, no per-item work).

``InMemoryDataModule`` holds what every data set shares: the seeded train/validation split, the global
batch shared over processes, the DataLoaders. ``IdxDataModule`` is MNIST / Fashion-MNIST on top of it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar, Literal

import lightning.pytorch as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets.mnist import read_image_file, read_label_file
from torchvision.transforms.v2 import functional as TF

from condgan.data.sources import dataset_spec, ensure_dataset, one_line, raw_dir
from condgan.errors import ConfigError

LabelledImages = tuple[Tensor, Tensor]  # uint8 images N×C×S×S, int64 labels N
SPLIT_FILE_PREFIX = {"train": "train", "test": "t10k"}


def square_resize(images: Tensor, size: int) -> Tensor:
    """uint8 (N×)C×H×W → (N×)C×size×size: shorter side resized to ``size``, then center-cropped.

    Bilinear with antialias like torchvision's Resize, rounded back to uint8; square inputs are only resized.
    """
    if images.shape[-2:] == (size, size):
        return images
    return TF.center_crop(TF.resize(images, size, antialias=True), [size, size])


def load_split(
    dataset: str, data_dir: str | Path, split: Literal["train", "test"], image_size: int = 28
) -> LabelledImages:
    """Load one split as (uint8 images N×1×S×S, int64 labels N), S = image_size, resized once as a whole.

    Reads only: fetch the files first with ``ensure_dataset``.
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
    try:
        images, labels = read_image_file(str(image_path)), read_label_file(str(label_path))  # uint8 N×H×W, int64 N
    except (AssertionError, KeyError, RuntimeError, TypeError, ValueError) as error:
        # torchvision's readers check headers with asserts and lengths with a reshape: name the files and the fix
        raise ValueError(
            f"{image_path} / {label_path} are not idx files of uint8 images N×H×W and labels N, or are truncated "
            f"({one_line(error)}); delete {raw} and fetch the dataset again"
        ) from error
    if len(images) != len(labels):
        raise ValueError(
            f"{image_path} / {label_path}: {len(images)} images but {len(labels)} labels; "
            f"delete {raw} and fetch the dataset again"
        )
    return square_resize(images.unsqueeze(1), image_size), labels  # N×1×S×S, N


def per_device_batch(batch_size: int, world_size: int) -> int:
    """The share of the global ``batch_size`` that each of ``world_size`` processes loads."""
    if batch_size % world_size:
        raise ConfigError(
            f"datamodule.batch_size={batch_size} is the global batch and must divide evenly over "
            f"{world_size} processes; pick a multiple of {world_size}."
        )
    return batch_size // world_size


def scheduled_batch_size(base: int, milestones: Mapping[int, int], epoch: int) -> int:
    """The batch size of ``epoch``: the last milestone's (epoch → size) at or before it, else ``base``."""
    reached = [epoch_from for epoch_from in milestones if epoch_from <= epoch]
    return milestones[max(reached)] if reached else base


class InMemoryImages(Dataset):
    """uint8 images N×C×H×W and int64 labels N, turned into float32 in [-1, 1] a whole batch at a time.

    DataLoader calls ``__getitems__(indices)`` when it exists (torch/utils/data/_utils/fetch.py), so a
    batch is one indexing op; ``keep_batch`` as collate_fn then passes the (images, labels) tuple through.
    Samplers are untouched, so Lightning can still inject a DistributedSampler. ``mirror``: each image is flipped
    left-right with probability 1/2 (StyleGAN's x-flips: twice the images for a small set; training only).
    """

    def __init__(self, images: Tensor, labels: Tensor, mirror: bool = False) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4 or labels.shape != (len(images),):
            raise ValueError(
                f"expected uint8 images N×C×H×W and labels N, got {images.dtype} {tuple(images.shape)} "
                f"and {tuple(labels.shape)}"
            )
        self.images = images
        self.labels = labels
        self.mirror = mirror

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        images, labels = self.__getitems__([index])
        return images[0], labels[0]

    def __getitems__(self, indices: list[int]) -> tuple[Tensor, Tensor]:
        batch = torch.as_tensor(indices)
        # index_select, not images[batch]: advanced indexing took 77 µs for 32 MNIST images on 2 threads (and
        # 10x that while another process shared the cores), index_select 10 µs: the same bytes
        images, labels = self.images.index_select(0, batch), self.labels.index_select(0, batch)
        if self.mirror:
            flipped = torch.rand(len(batch)) < 0.5  # B: which images to flip, from the seeded global generator
            images = torch.where(flipped[:, None, None, None], images.flip(-1), images)
        return to_unit_range(images), labels  # B×C×H×W float32, B int64


def to_unit_range(images: Tensor) -> Tensor:
    """uint8 [0, 255] → float32 [-1, 1] (the range of a tanh generator)."""
    return images.float().div_(127.5).sub_(1)


def keep_batch(batch: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """collate_fn for InMemoryImages: the batch is already stacked. Module-level so workers can pickle it."""
    return batch


def held_out_count(size: int | float, total: int, name: str) -> int:
    """How many of ``total`` images ``size`` holds out: a count (int) or a fraction (float), e.g. val_size."""
    count = round(size * total) if isinstance(size, float) else size
    if count >= total:
        raise ValueError(f"{name}={size} leaves no training images out of {total}; lower it")
    return count


def seeded_split(labelled: LabelledImages, held_out: int, seed: int) -> tuple[LabelledImages, LabelledImages]:
    """(``held_out`` images picked by a seeded permutation, the rest), labels staying with their images."""
    images, labels = labelled
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    picked, rest = order[:held_out], order[held_out:]
    return (images[picked], labels[picked]), (images[rest], labels[rest])


def stratified_split(labelled: LabelledImages, held_out: int, seed: int) -> tuple[LabelledImages, LabelledImages]:
    """Like ``seeded_split``, but every class gives its share: (``held_out`` images, the rest).

    Class c gives ``held_out · n_c / N`` images, rounded by largest remainder so that the counts add up to
    ``held_out``; within a class, the first ones of a seeded permutation. Held-out images come class by class.
    """
    images, labels = labelled
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    classes, sizes = labels.unique(return_counts=True)
    quotas = sizes.double() * held_out / len(labels)
    counts = quotas.floor().long()
    largest_remainders = (quotas - counts).argsort(descending=True, stable=True)
    counts[largest_remainders[: held_out - int(counts.sum())]] += 1
    picked = torch.cat([order[labels[order] == label][:count] for label, count in zip(classes, counts)])
    rest = torch.ones(len(labels), dtype=torch.bool)
    rest[picked] = False
    rest_indices = order[rest[order]]  # the permutation's order, as seeded_split
    return (images[picked], labels[picked]), (images[rest_indices], labels[rest_indices])


class InMemoryDataModule(pl.LightningDataModule, ABC):
    """Batches (float32 B×C×S×S in [-1, 1], int64 B) from uint8 tensors loaded once by the first ``setup``.

    Subclasses fetch files in ``prepare_data`` and implement ``load_splits``. Validation is ``val_size``
    images (a count, or a fraction as a float) taken from the training split by a seeded permutation; with
    ``val_size=0`` all training images train and validation uses the test split. ``num_classes`` is
    checked against the data's classes, so a config can pass it on to the model. ``mirror``: training images are
    flipped left-right at random (validation and test images never are).
    """

    SUPPORTED_CHANNELS: ClassVar[tuple[int, ...]] = (1, 3)

    def __init__(
        self,
        *,
        data_dir: str,
        image_size: int,
        channels: int,
        class_names: Sequence[str] | None,
        num_classes: int | None,
        batch_size: int,
        val_size: int | float,
        num_workers: int,
        pin_memory: bool,
        split_seed: int,
        mirror: bool = False,
    ) -> None:
        super().__init__()
        if val_size < 0 or (isinstance(val_size, float) and val_size >= 1) or image_size < 1 or batch_size < 1:
            raise ValueError(
                "need val_size >= 0 (a count, or a fraction below 1), image_size >= 1 and batch_size >= 1, "
                f"got {val_size}, {image_size}, {batch_size}"
            )
        if channels not in self.SUPPORTED_CHANNELS:
            supported = " or ".join(map(str, self.SUPPORTED_CHANNELS))
            raise ValueError(
                f"{type(self).__name__} serves {supported}-channel images, got channels={channels}; "
                f"set datamodule.channels={self.SUPPORTED_CHANNELS[-1]}"
            )
        self.data_dir = data_dir
        self.image_size = image_size
        self.channels = channels
        self.image_shape = (channels, image_size, image_size)
        self.batch_size = batch_size
        self.batch_size_schedule: dict[int, int] = {}  # epoch → batch size, set by callbacks.batch_size_schedule
        self.val_size = val_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.split_seed = split_seed
        self.mirror = mirror
        self.num_classes = num_classes  # None: whatever the data have, known after setup
        self.class_names: list[str] | None = None
        if class_names is not None:
            self.set_class_names(class_names)
        self.train_set: InMemoryImages | None = None
        self.val_set: InMemoryImages | None = None
        self.test_set: InMemoryImages | None = None

    @abstractmethod
    def load_splits(self) -> tuple[LabelledImages, LabelledImages]:
        """(train, test), each uint8 images N×C×S×S with (C, S, S) = image_shape and int64 labels N."""

    def set_class_names(self, class_names: Sequence[str]) -> None:
        """Adopt the data's classes (label i is class_names[i]), refusing a configured num_classes that differs."""
        if self.num_classes is not None and self.num_classes != len(class_names):
            raise ValueError(
                f"the data in {self.data_dir} have {len(class_names)} classes but num_classes={self.num_classes}; "
                f"set datamodule.num_classes={len(class_names)}"
            )
        self.class_names = list(class_names)
        self.num_classes = len(class_names)

    @property
    def batch_size_per_device(self) -> int:
        """``batch_size`` (or, under a ``BatchSizeSchedule``, this epoch's) is global: each of the world's processes
        loads its share."""
        epoch = self.trainer.current_epoch if self.trainer is not None else 0
        batch_size = scheduled_batch_size(self.batch_size, self.batch_size_schedule, epoch)
        return per_device_batch(batch_size, self.trainer.world_size if self.trainer is not None else 1)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:  # every stage shares the tensors loaded on the first call
            return
        train, test = self.load_splits()
        val_count = held_out_count(self.val_size, len(train[1]), "val_size")
        val, train = seeded_split(train, val_count, self.split_seed)
        self.test_set = InMemoryImages(*test)
        self.train_set = InMemoryImages(*train, mirror=self.mirror)
        self.val_set = InMemoryImages(*val) if val_count else self.test_set

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, train=False)

    def _loader(self, dataset: InMemoryImages | None, train: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__}: call setup() before asking for a dataloader")
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


class IdxDataModule(InMemoryDataModule):
    """MNIST or Fashion-MNIST (1 channel, 10 classes) from torchvision-layout idx files.

    Train and validation split the 60k training file; test is the 10k t10k file.
    """

    SUPPORTED_CHANNELS = (1,)

    def __init__(
        self,
        dataset: str = "mnist",
        data_dir: str = "data/",
        image_size: int = 28,
        batch_size: int = 64,
        val_size: int | float = 5000,
        num_workers: int = 0,
        pin_memory: bool = False,
        split_seed: int = 42,
        try_download: bool = True,
        channels: int = 1,
        num_classes: int | None = None,
    ) -> None:
        super().__init__(
            data_dir=data_dir, image_size=image_size, channels=channels,
            class_names=dataset_spec(dataset).class_names, num_classes=num_classes, batch_size=batch_size,
            val_size=val_size, num_workers=num_workers, pin_memory=pin_memory, split_seed=split_seed,
        )
        self.save_hyperparameters()  # logged with the run
        self.dataset = dataset
        self.try_download = try_download

    def prepare_data(self) -> None:
        ensure_dataset(self.dataset, self.data_dir, try_download=self.try_download)

    def load_splits(self) -> tuple[LabelledImages, LabelledImages]:
        train = load_split(self.dataset, self.data_dir, "train", self.image_size)
        return train, load_split(self.dataset, self.data_dir, "test", self.image_size)
