"""Your own labelled images: ``<data_dir>/<class name>/<image>``, one sub-folder per class.

Every image is decoded once at setup, converted to grayscale or RGB, resized (shorter side) and center-cropped
to a square, and kept as uint8 in memory: N×C×S×S bytes, e.g. 100k RGB images at 64 px take 1.2 GB.
Image folders that condgan makes itself (``NAMED_FOLDERS``: the emoji) are made on first use and verified; they
hold their own fixed split, ``<folder>/train`` and ``<folder>/test``, each one sub-folder per class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor

from condgan.data import emoji
from condgan.data.datamodule import InMemoryDataModule, LabelledImages, held_out_count, square_resize, stratified_split

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png", ".webp")  # read by Pillow; other files are skipped
PIL_MODE = {1: "L", 3: "RGB"}  # channels: the conversion applied after decoding (alpha is dropped)


@dataclass(frozen=True)
class NamedFolder:
    """An image folder condgan knows by name (``datamodule.dataset``), kept in ``<data root>/<name>``: how to
    make and verify it, its classes, and the split it was made with: ``<folder>/train`` and ``<folder>/test``
    (the quality metrics measure against the same test images)."""

    ensure: Callable[[Path], Path]  # folder → folder, made or verified
    class_names: tuple[str, ...]
    channels: int
    image_size: int  # as made
    test_size: float  # the split's settings, which a datamodule must keep (check_named_folder)
    split_seed: int
    folder: str  # <data root>/<folder>: several datasets may label one folder differently
    # (folder, split, image size) → (uint8 images N×C×S×S, int64 labels N); None: one sub-folder per class
    read_split: Callable[[Path, str, int], LabelledImages] | None = None
    # {condition: values} when a label stands for several (condgan.conditions); None: one condition, the class
    conditions: dict[str, tuple[str, ...]] | None = None


NAMED_FOLDERS = {
    "emoji": NamedFolder(
        emoji.ensure_emoji, emoji.CLASS_NAMES, 3, emoji.IMAGE_SIZE, emoji.TEST_SIZE, emoji.SPLIT_SEED, "emoji"
    ),
    # the same images, labelled by group and style at once: label = group · len(STYLES) + style
    "emoji_styles": NamedFolder(
        emoji.ensure_emoji, emoji.STYLED_CLASS_NAMES, 3, emoji.IMAGE_SIZE, emoji.TEST_SIZE, emoji.SPLIT_SEED,
        "emoji", emoji.read_styled_split, emoji.CONDITIONS,
    ),
}  # fmt: skip


def read_class_folders(root: Path, channels: int, image_size: int) -> tuple[list[str], LabelledImages]:
    """(class names, (uint8 images N×C×S×S, int64 labels N)): label i is the i-th sub-folder in name order."""
    if not root.is_dir():
        raise FileNotFoundError(
            f"image folder {root} does not exist; point datamodule.data_dir at a folder holding one sub-folder "
            "of images per class"
        )
    class_dirs = sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))
    if not class_dirs:
        raise ValueError(f"{root} has no class sub-folders; put each class's images in {root}/<class name>/")
    images: list[Tensor] = []
    labels: list[int] = []
    for label, class_dir in enumerate(class_dirs):
        files = image_files(class_dir)
        if not files:
            raise ValueError(
                f"class folder {class_dir} has no images ({', '.join(IMAGE_SUFFIXES)}); add some or remove the folder"
            )
        images += [read_image(path, channels, image_size) for path in files]
        labels += [label] * len(files)
    return [path.name for path in class_dirs], (torch.stack(images), torch.tensor(labels))


def split_class_folders(
    root: Path, channels: int, image_size: int, test_size: int | float, seed: int
) -> tuple[list[str], LabelledImages, LabelledImages]:
    """(class names, train, test): ``test_size`` images (a count, or a fraction as a float) held out per class
    in proportion to its size (``stratified_split``), so a small class is in the test split too."""
    class_names, labelled = read_class_folders(root, channels, image_size)
    test_count = max(1, held_out_count(test_size, len(labelled[1]), "test_size"))
    test, train = stratified_split(labelled, test_count, seed)
    return class_names, train, test


def read_named_folder(
    name: str, folder: Path, image_size: int
) -> tuple[list[str], LabelledImages, LabelledImages]:
    """(class names, train, test) of the dataset ``name`` condgan made, from its ``train/`` and ``test/``."""
    named = NAMED_FOLDERS[name]
    if named.read_split is not None:
        train, test = (named.read_split(folder, split, image_size) for split in ("train", "test"))
        return list(named.class_names), train, test
    class_names, train = read_class_folders(folder / "train", named.channels, image_size)
    test_names, test = read_class_folders(folder / "test", named.channels, image_size)
    if test_names != class_names:
        raise ValueError(f"{folder}/test has class folders {test_names} but {folder}/train has {class_names}")
    return class_names, train, test


def image_files(folder: Path) -> list[Path]:
    """The image files anywhere below ``folder``, sorted, skipping hidden files and folders (".name")."""

    def visible(path: Path) -> bool:
        return not any(part.startswith(".") for part in path.relative_to(folder).parts)

    return sorted(path for path in folder.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES and visible(path))


def read_image(path: Path, channels: int, image_size: int) -> Tensor:
    """Decode one file into uint8 channels×image_size×image_size (Pillow: torchvision 0.29 deprecates its decoders)."""
    try:
        with Image.open(path) as file:
            pixels = np.array(ImageOps.exif_transpose(file).convert(PIL_MODE[channels]))  # H×W or H×W×3
    except (OSError, ValueError) as error:  # UnidentifiedImageError is an OSError
        raise ValueError(f"cannot read image {path} ({error}); replace or delete the file") from error
    image = torch.from_numpy(pixels).view(*pixels.shape[:2], channels).permute(2, 0, 1)  # C×H×W
    return square_resize(image, image_size)


class ImageFolderDataModule(InMemoryDataModule):
    """Class-labelled images from folders; ``num_classes`` (optional) must match the number of class folders.

    Test images come from ``test_dir`` (same class sub-folders) when given; otherwise ``test_size`` images
    (a count, or a fraction as a float) are held out of ``data_dir``, every class giving its share.
    Validation then takes ``val_size`` of the remaining training images.

    ``dataset`` names a folder condgan makes itself (a key of ``NAMED_FOLDERS``, e.g. ``emoji``). Then
    ``data_dir`` is the data root, as for the idx datasets: the images are in ``<data_dir>/<dataset>``, made
    there if absent and verified if present, and the quality metrics measure samples with the dataset's
    committed classifier against its test split, so that split is fixed.
    """

    def __init__(
        self,
        data_dir: str,
        image_size: int = 64,
        channels: int = 3,
        num_classes: int | None = None,
        test_dir: str | None = None,
        test_size: int | float = 0.1,
        batch_size: int = 64,
        val_size: int | float = 0.05,
        num_workers: int = 0,
        pin_memory: bool = False,
        split_seed: int = 42,
        dataset: str | None = None,
        mirror: bool = False,
    ) -> None:
        super().__init__(
            data_dir=data_dir, image_size=image_size, channels=channels, class_names=None, num_classes=num_classes,
            batch_size=batch_size, val_size=val_size, num_workers=num_workers, pin_memory=pin_memory,
            split_seed=split_seed, mirror=mirror,
        )
        if test_dir is None and (test_size <= 0 or (isinstance(test_size, float) and test_size >= 1)):
            raise ValueError(
                f"test_size={test_size} holds out no test images: set a count >= 1 or a fraction in (0, 1), "
                "or give a separate datamodule.test_dir"
            )
        if dataset is not None:
            check_named_folder(dataset, test_dir, test_size, split_seed)
        self.save_hyperparameters()  # logged with the run
        self.test_dir = test_dir
        self.test_size = test_size
        self.dataset = dataset
        self.folder = Path(data_dir) if dataset is None else named_folder_path(dataset, data_dir)

    def prepare_data(self) -> None:
        if self.dataset is not None:
            NAMED_FOLDERS[self.dataset].ensure(self.folder)

    def load_splits(self) -> tuple[LabelledImages, LabelledImages]:
        if self.dataset is not None:  # made with its own split (by emoji, so no emoji is on both sides)
            class_names, train, test = read_named_folder(self.dataset, self.folder, self.image_size)
            self.set_class_names(class_names)
            return train, test
        if self.test_dir is None:
            class_names, train, test = split_class_folders(
                self.folder, self.channels, self.image_size, self.test_size, self.split_seed
            )
            self.set_class_names(class_names)
            return train, test
        class_names, train = read_class_folders(self.folder, self.channels, self.image_size)
        self.set_class_names(class_names)
        test_names, test = read_class_folders(Path(self.test_dir), self.channels, self.image_size)
        if test_names != class_names:
            raise ValueError(
                f"test_dir {self.test_dir} has class folders {test_names} but data_dir {self.folder} has "
                f"{class_names}; give both the same class sub-folders"
            )
        return train, test


def named_folder_path(name: str, data_root: str | Path) -> Path:
    """``<data root>/<folder>``, e.g. ``data/emoji`` for emoji and emoji_styles: where a named folder is made and read."""
    return Path(data_root) / NAMED_FOLDERS[name].folder


def check_named_folder(dataset: str, test_dir: str | None, test_size: int | float, split_seed: int) -> None:
    """A named folder is measured on its own test split: refuse settings that would hold out other images."""
    if dataset not in NAMED_FOLDERS:
        raise ValueError(
            f"unknown datamodule.dataset={dataset!r} for an image folder; known: {', '.join(sorted(NAMED_FOLDERS))}, "
            "or null for your own images"
        )
    named = NAMED_FOLDERS[dataset]
    if (test_dir, test_size, split_seed) != (None, named.test_size, named.split_seed):
        raise ValueError(
            f"datamodule.dataset={dataset} is measured on its fixed test split (test_dir=null, "
            f"test_size={named.test_size}, split_seed={named.split_seed}), got test_dir={test_dir}, "
            f"test_size={test_size}, split_seed={split_seed}; keep those, or set datamodule.dataset=null "
            "and train without its quality metrics (callbacks=no_quality)"
        )
