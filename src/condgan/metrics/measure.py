"""Every quality metric of a generator's samples, with the real-data floor beside each one."""

import contextlib
import functools
from collections.abc import Callable
from pathlib import Path
from statistics import mean

from torch import nn

from condgan.inference.sampling import sample_per_class
from condgan.metrics.classifier import load_classifier
from condgan.metrics.distances import frechet_distance, kernel_distance, manifold_coverage
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


def quality(sample: Embedded, reference: Embedded, seed: int, kid_subsets: int = KID_SUBSETS) -> dict[str, float]:
    """All of METRICS for ``sample`` (generated or real images) against ``reference`` (the test split)."""
    return {
        "fid": frechet_distance(reference.features, sample.features),
        "kid": kernel_distance(reference.features, sample.features, seed, subsets=kid_subsets),
        "intra_fid": intra_class_fid(sample, reference),
        "label_acc": label_accuracy(sample),
        "precision": manifold_coverage(sample.features, reference.features, reference.radii),
        "recall": manifold_coverage(reference.features, sample.features, sample.radii),
    }


def label_accuracy(sample: Embedded) -> float:
    """Share of images the classifier assigns to the label they carry (requested, for generated images)."""
    return float((sample.predicted == sample.labels).double().mean())


def intra_class_fid(sample: Embedded, reference: Embedded) -> float:
    """Mean over the sample's classes of the FID between its images of class c and the real ones of class c."""
    return mean(
        frechet_distance(reference.features[reference.labels == label], sample.features[sample.labels == label])
        for label in sample.labels.unique()
    )


@functools.lru_cache(maxsize=8)
def floor_quality(
    dataset: str, data_dir: str, image_size: int, n_per_class: int, seed: int, kid_subsets: int = KID_SUBSETS
) -> dict[str, float]:
    """``quality`` of held-out real images: the limit of every metric at this sample count. Cached per process."""
    classifier, _ = load_classifier(dataset)
    floor = embed(classifier, *floor_images(dataset, data_dir, image_size, n_per_class))
    reference = embedded_test_split(dataset, data_dir, image_size)
    return {**quality(floor, reference, seed, kid_subsets), "n_images": len(floor.labels)}


def forget_cached_measurements() -> None:
    """Empty the per-process caches of the test split's and the floor's features. Filling them draws from the
    global RNG (the classifier is built, then its weights loaded), so a second fit in one process (a sweep's
    trial, a test) would shuffle its batches differently from the same command run alone; the caches are
    emptied at the start of every fit, which then draws exactly as a fresh process does."""
    embedded_test_split.cache_clear()
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
) -> dict[str, dict[str, float]]:
    """``{"model": metrics, "floor": metrics}`` for ``n_per_class`` samples of every class (seeded).

    Both dicts hold METRICS and ``n_images``. The real images are loaded at ``image_size``, the size the
    generator was trained at, so real and generated images take the same resize to the classifier's 28 px.
    ``sampling_context`` wraps the generator's calls only (e.g. the trainer's bf16 autocast); the classifier
    and the metrics always run in float32, so the reference and the floor are the same in every precision.
    """
    data_dir = str(Path(data_dir).resolve())  # one cache entry per folder, however it is spelled
    classifier, _ = load_classifier(dataset)
    with sampling_context():
        images, labels = sample_per_class(generator, n_per_class, seed, batch_size)
    reference = embedded_test_split(dataset, data_dir, image_size)
    model = quality(embed(classifier, images, labels), reference, seed, kid_subsets)
    floor = floor_quality(dataset, data_dir, image_size, n_per_class, seed, kid_subsets)
    return {"model": {**model, "n_images": len(labels)}, "floor": dict(floor)}  # a copy: the cache stays intact
