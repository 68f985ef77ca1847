"""Offline sample-quality metrics, measured in the feature space of a committed per-dataset classifier.

What each number means, its floor and its pitfalls: docs/metrics.md.
"""

from condgan.metrics.classifier import DomainClassifier, UnsupportedDatasetError, load_classifier, supported_datasets
from condgan.metrics.measure import METRICS, forget_cached_measurements, measure_generator, metric_names

__all__ = [
    "METRICS",
    "DomainClassifier",
    "UnsupportedDatasetError",
    "forget_cached_measurements",
    "load_classifier",
    "measure_generator",
    "metric_names",
    "supported_datasets",
]
