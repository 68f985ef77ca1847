"""The real images measurements are made against: the test split, and held-out training images for the floor.

The floor is every metric computed for real images instead of generated ones: what a perfect generator
would score at the same sample count. Its images come from the training split but were held out when the
classifier was trained (``holdout_split``), so, like the test split and like generated images, the
classifier has never seen them.
"""

import functools
from typing import Any

import torch
from torch import Tensor

from condgan.data.datasets import load_named_split
from condgan.metrics.classifier import load_classifier
from condgan.metrics.features import Embedded, embed

HOLDOUT_PER_CLASS = 1000  # the default of train_classifier; each classifier records the value it used
HOLDOUT_SEED = 0


def holdout_split(labels: Tensor, per_class: int, seed: int) -> tuple[Tensor, Tensor]:
    """Indices (held out, rest) into a split with ``labels`` (N,).

    Held out: per class, the first ``per_class`` images of a seeded permutation, class after class
    (fewer if a class is smaller). Rest: every other index, ascending.
    """
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    held = torch.cat([order[labels[order] == label][:per_class] for label in labels.unique()])
    rest = torch.ones(len(labels), dtype=torch.bool)
    rest[held] = False
    return held, rest.nonzero().squeeze(1)


@functools.lru_cache(maxsize=4)
def embedded_test_split(dataset: str, data_dir: str, image_size: int) -> Embedded:
    """The whole test split through the dataset's classifier; cached, since every measurement reuses it."""
    classifier, _ = load_classifier(dataset)
    return embed(classifier, *load_named_split(dataset, data_dir, "test", image_size))


def floor_images(
    dataset: str, data_dir: str, image_size: int, n_per_class: int, metadata: dict[str, Any] | None = None
) -> tuple[Tensor, Tensor]:
    """Up to ``n_per_class`` held-out training images per class, in label order: uint8 (N, C, S, S), labels (N,).

    Held out as the classifier recorded it (``metadata``, default: the committed one's), so these are
    images it never trained on.
    """
    metadata = metadata or load_classifier(dataset)[1]
    images, labels = load_named_split(dataset, data_dir, "train", image_size)
    held, _ = holdout_split(labels, metadata["holdout_per_class"], metadata["holdout_seed"])
    pick = torch.cat([held[labels[held] == label][:n_per_class] for label in labels[held].unique()])
    return images[pick], labels[pick]
