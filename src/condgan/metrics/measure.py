"""Every quality metric of a generator's samples, with the real-data floor beside each one."""

import contextlib
import functools
import math
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from typing import Any

import torch
from torch import nn

from condgan.conditions import Conditions, condition_index
from condgan.data.datasets import conditions as dataset_conditions
from condgan.inference.sampling import sample_per_class
from condgan.metrics.classifier import load_classifier
from condgan.metrics.distances import NEIGHBOURS, frechet_distance, kernel_distance, manifold_coverage
from condgan.metrics.features import Embedded, embed
from condgan.metrics.reference import embedded_test_split, floor_images

# Metric name → which way is better; the order of every report.
METRICS = {
    "fid": "lower",
    "kid": "lower",
    "intra_fid": "lower",
    "label_acc": "higher",
    "precision": "higher",
    "recall": "higher",
}


# KID's random subsets of 1000: condgan eval's 100, as torchmetrics. The per-epoch QualityMetrics callback takes 10:
# 100 were a third of its time (2.6 s of 8 s per epoch for the default experiment on busy cores; 10 take 0.2 s).
KID_SUBSETS = 100


def quality(
    sample: Embedded,
    reference: Embedded,
    seed: int,
    kid_subsets: int = KID_SUBSETS,
    conditions: Conditions | None = None,
) -> dict[str, float]:
    """All of METRICS for ``sample`` (generated or real images) against ``reference`` (the test split), and
    with ``conditions`` (``condgan.data.datasets.conditions``) each condition's accuracy, ``<condition>_acc``."""
    return {
        "kid": kernel_distance(reference.features, sample.features, seed, subsets=kid_subsets),
        "intra_fid": intra_class_fid(sample, reference),
        "label_acc": label_accuracy(sample),
        **distances(sample, reference),
        **condition_accuracies(sample, conditions),
    }


def distances(sample: Embedded, reference: Embedded) -> dict[str, float]:
    """FID, precision and recall of ``sample`` against ``reference``: what ``quality`` and ``per_condition`` share.
    Precision and recall are means over ``reference_sized_parts`` of the sample; FID takes the whole sample."""
    parts = reference_sized_parts(sample, reference)
    return {
        "fid": frechet_distance(reference.features, sample.features),
        "precision": mean(manifold_coverage(part.features, reference.features, reference.radii) for part in parts),
        "recall": mean(manifold_coverage(reference.features, part.features, part.radii) for part in parts),
    }


def reference_sized_parts(sample: Embedded, reference: Embedded) -> list[Embedded]:
    """Disjoint parts of ``sample`` holding as many images of each label as ``reference`` does, or the whole
    sample when it has less than twice the reference's count of some label.

    Kynkäänniemi et al.'s precision and recall compare sets of equal size: a k-NN ball shrinks as its set
    grows, so 18 000 samples against 382 test images (emoji) would measure a much smaller manifold than the
    same generator's 382. MNIST's 1000 per class against its 10 000 test digits is one part, the whole sample.
    """
    labels, counts = reference.labels.unique(return_counts=True)
    by_label = [
        (torch.nonzero(sample.labels == label).flatten(), count)
        for label, count in zip(labels, counts.tolist(), strict=True)
    ]
    n_parts = min(len(mine) // count for mine, count in by_label)
    if n_parts < 2:
        return [sample]
    return [
        sample.subset(torch.cat([mine[i * count : (i + 1) * count] for mine, count in by_label]))
        for i in range(n_parts)
    ]


def metric_names(measured: dict[str, float]) -> list[str]:
    """The metrics in one of ``measure_generator``'s dicts, in report order: METRICS, then the conditions'."""
    return [*METRICS, *(name for name in measured if name not in METRICS and name != "n_images")]


def label_accuracy(sample: Embedded) -> float:
    """Share of images the classifier assigns to the label they carry (requested, for generated images)."""
    return float((sample.predicted == sample.labels).double().mean())


def condition_accuracies(sample: Embedded, conditions: Conditions | None) -> dict[str, float]:
    """{``<condition>_acc``: share of images whose predicted label has the requested value of that condition}:
    a food emoji drawn in the wrong style still counts for the group. Empty without conditions."""
    conditions = conditions or {}
    right = {
        name: condition_index(sample.predicted, conditions, name) == condition_index(sample.labels, conditions, name)
        for name in conditions
    }
    return {f"{name}_acc": float(hits.double().mean()) for name, hits in right.items()}


def per_condition(sample: Embedded, reference: Embedded, conditions: Conditions) -> dict[str, Any]:
    """{condition: {value: FID, precision, recall and every condition's accuracy}} over the images (generated
    and real alike) that carry that value: how well each style, and each group, is drawn."""
    table: dict[str, Any] = {}
    for name, values in conditions.items():
        table[name] = {}
        for index, value in enumerate(values):
            mine, theirs = (condition_index(e.labels, conditions, name) == index for e in (sample, reference))
            if min(mine.sum(), theirs.sum()) <= NEIGHBOURS:  # too few images (a tiny build) for k-NN radii
                continue
            part, real = sample.subset(mine), reference.subset(theirs)
            table[name][value] = {
                **distances(part, real),
                **condition_accuracies(part, conditions),
                "n_images": len(part.labels),
            }
    return table


def intra_class_fid(sample: Embedded, reference: Embedded) -> float:
    """Mean over the sample's classes of the FID between its images of class c and the real ones of class c;
    classes the test split holds fewer than 2 images of (a tiny build) have no covariance and are left out,
    and with none left it is NaN."""
    distances = [
        frechet_distance(reference.features[reference.labels == label], sample.features[sample.labels == label])
        for label in sample.labels.unique()
        if (reference.labels == label).sum() > 1
    ]
    return mean(distances) if distances else math.nan


@functools.lru_cache(maxsize=8)
def embedded_floor(dataset: str, data_dir: str, image_size: int, n_per_class: int) -> Embedded:
    """Held-out real images (``floor_images``) through the dataset's classifier. Cached per process."""
    classifier, _ = load_classifier(dataset)
    return embed(classifier, *floor_images(dataset, data_dir, image_size, n_per_class))


@functools.lru_cache(maxsize=8)
def floor_quality(
    dataset: str, data_dir: str, image_size: int, n_per_class: int, seed: int, kid_subsets: int = KID_SUBSETS
) -> dict[str, float]:
    """``quality`` of held-out real images: the limit of every metric at this sample count. Cached per process."""
    floor = embedded_floor(dataset, data_dir, image_size, n_per_class)
    reference = embedded_test_split(dataset, data_dir, image_size)
    conditions = dataset_conditions(dataset)
    return {**quality(floor, reference, seed, kid_subsets, conditions), "n_images": len(floor.labels)}


def forget_cached_measurements() -> None:
    """Empty the per-process caches of the test split's and the floor's features. Filling them draws from the
    global RNG (the classifier is built, then its weights loaded), so a second fit in one process (a sweep's
    trial, a test) would shuffle its batches differently from the same command run alone; the caches are
    emptied at the start of every fit, which then draws exactly as a fresh process does."""
    embedded_test_split.cache_clear()
    embedded_floor.cache_clear()
    floor_quality.cache_clear()


def measure_generator(
    generator: nn.Module,
    dataset: str,
    data_dir: str | Path,
    image_size: int,
    n_per_class: int,
    seed: int = 0,
    batch_size: int = 1000,
    kid_subsets: int = KID_SUBSETS,
    sampling_context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    per_condition_table: bool = False,
) -> dict[str, Any]:
    """``{"model": metrics, "floor": metrics}`` for ``n_per_class`` samples of every class (seeded).

    Both dicts hold METRICS, each condition's accuracy (datasets with several conditions) and ``n_images``;
    ``precision_recall_parts`` is how many reference-sized parts the model's precision and recall average over;
    ``per_condition_table`` adds ``"per_condition": {"model": ..., "floor": ...}`` (``per_condition``).
    The real images are loaded at ``image_size``, the size the generator was trained at, so real and generated
    images take the same resize to the classifier's 28 px.
    ``sampling_context`` wraps the generator's calls only (e.g. the trainer's bf16 autocast); the classifier
    and the metrics always run in float32, so the reference and the floor are the same in every precision.
    """
    data_dir = str(Path(data_dir).resolve())  # one cache entry per folder, however it is spelled
    classifier, _ = load_classifier(dataset)
    with sampling_context():
        images, labels = sample_per_class(generator, n_per_class, seed, batch_size)
    reference = embedded_test_split(dataset, data_dir, image_size)
    conditions = dataset_conditions(dataset)
    sample = embed(classifier, images, labels)
    model = quality(sample, reference, seed, kid_subsets, conditions)
    floor = floor_quality(dataset, data_dir, image_size, n_per_class, seed, kid_subsets)
    measured: dict[str, Any] = {
        "model": {**model, "n_images": len(labels)},
        "floor": dict(floor),  # a copy
        "precision_recall_parts": len(reference_sized_parts(sample, reference)),
    }
    if conditions is not None and per_condition_table:
        real = embedded_floor(dataset, data_dir, image_size, n_per_class)
        measured["per_condition"] = {
            "model": per_condition(sample, reference, conditions),
            "floor": per_condition(real, reference, conditions),
        }
    return measured
