"""Images → classifier features and predictions: the single pass every metric is computed from."""

from dataclasses import dataclass
from functools import cached_property

import torch
from torch import Tensor

from condgan.data.datamodule import to_unit_range
from condgan.metrics.classifier import DomainClassifier
from condgan.metrics.distances import knn_radii


@dataclass(frozen=True)
class Embedded:
    """A set of images as the classifier sees them."""

    features: Tensor  # (N, 128) float32 penultimate activations
    predicted: Tensor  # (N,) int64 classifier argmax
    labels: Tensor  # (N,) int64: the true labels of real images, the requested labels of generated ones

    def subset(self, mask: Tensor) -> "Embedded":
        """The images where ``mask`` (N,) is true, their radii computed afresh among themselves."""
        return Embedded(self.features[mask], self.predicted[mask], self.labels[mask])

    @cached_property
    def radii(self) -> Tensor:
        """(N,) k-NN radii of the features, computed on first use: the cached test split computes them once."""
        return knn_radii(self.features)


@torch.inference_mode()
def embed(classifier: DomainClassifier, images: Tensor, labels: Tensor, batch_size: int = 1000) -> Embedded:
    """uint8 images (N, 1, H, W) → features and predictions, on CPU.

    Real and generated images both arrive as uint8 (generated ones as they would be saved) and go through
    the training data's own [-1, 1] mapping, so the two sets are measured identically.
    """
    features = torch.cat([classifier.features(to_unit_range(batch)) for batch in images.split(batch_size)])
    return Embedded(features, classifier.head(features).argmax(dim=1), labels)
