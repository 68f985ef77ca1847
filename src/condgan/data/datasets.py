"""Datasets by name, as the quality metrics and their classifiers load them: the idx datasets of
``sources.DATASETS`` (MNIST, Fashion-MNIST) and the image folders condgan makes (``NAMED_FOLDERS``: emoji).

``data_dir`` is always the data root (``paths.data_dir``, ``--data-dir``): idx files live in
``<root>/<Folder>/raw``, a named folder in ``<root>/<name>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from condgan.data.datamodule import LabelledImages, load_split
from condgan.data.image_folder import NAMED_FOLDERS, named_folder_path, read_named_folder
from condgan.data.sources import DATASETS

NAMES = sorted([*DATASETS, *NAMED_FOLDERS])
IDX_IMAGE_SIZE = 28


def check_name(name: str) -> None:
    if name not in NAMES:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(NAMES)}")


def class_names(name: str) -> tuple[str, ...]:
    check_name(name)
    return DATASETS[name].class_names if name in DATASETS else NAMED_FOLDERS[name].class_names


def conditions(name: str) -> dict[str, tuple[str, ...]] | None:
    """{condition: its values} when a label stands for several conditions at once (emoji_styles: group and
    style), label = mixed-radix number of the values' indices, the first condition most significant; else None."""
    check_name(name)
    return NAMED_FOLDERS[name].conditions if name in NAMED_FOLDERS else None


def native_image_size(name: str) -> int:
    """The side the dataset's images are stored at: 28 for the idx datasets, 64 for emoji."""
    check_name(name)
    return IDX_IMAGE_SIZE if name in DATASETS else NAMED_FOLDERS[name].image_size


def load_named_split(
    name: str, data_root: str | Path, split: Literal["train", "test"], image_size: int | None = None
) -> LabelledImages:
    """(uint8 images N×C×S×S, int64 labels N) of one split, S = ``image_size`` (default: the native size).

    A named folder's split is the one it was made with (``<folder>/train`` and ``/test``), as its datamodule reads.
    Reads only: make or fetch the data first (``python -m condgan.data <name>``).
    """
    check_name(name)
    image_size = image_size or native_image_size(name)
    if name in DATASETS:
        return load_split(name, data_root, split, image_size)
    if split not in ("train", "test"):
        raise ValueError(f"unknown split {split!r}; use one of ['test', 'train']")
    folder = named_folder_path(name, data_root)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} not found; make the dataset first: "
            f"`python -m condgan.data {NAMED_FOLDERS[name].folder} --data-dir {data_root}`"
        )
    _, train, test = read_named_folder(name, folder, image_size)
    return train if split == "train" else test
