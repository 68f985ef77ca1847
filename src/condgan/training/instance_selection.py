"""Trial: instance selection (DeVries et al. 2020): train on the most typical images of every label only."""

import torch

from condgan.data.datamodule import LabelledImages
from condgan.data.image_folder import ImageFolderDataModule
from condgan.metrics.classifier import load_classifier
from condgan.metrics.distances import knn_radii
from condgan.metrics.features import embed


def most_typical(features: torch.Tensor, labels: torch.Tensor, keep: float, k: int) -> torch.Tensor:
    """Sorted indices of the ``keep`` share of every label with the smallest k-NN radius among that label's
    features: the densest part of each label's manifold."""
    kept = []
    for label in labels.unique():
        index = torch.nonzero(labels == label).squeeze(1)
        radii = knn_radii(features[index], k=min(k, len(index) - 1))
        kept.append(index[radii.argsort()[: max(1, round(keep * len(index)))]])
    return torch.cat(kept).sort().values


class SelectedImageFolderDataModule(ImageFolderDataModule):
    """A named image folder whose training images are cut to the ``keep`` most typical share of every label, in
    the feature space of the dataset's committed classifier; validation and test are drawn as before."""

    def __init__(self, *args, keep: float = 0.5, k: int = 5, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keep, self.k = keep, k

    def load_splits(self) -> tuple[LabelledImages, LabelledImages]:
        (images, labels), test = super().load_splits()
        classifier, _ = load_classifier(self.dataset)
        kept = most_typical(embed(classifier, images, labels).features, labels, self.keep, self.k)
        print(f"instance selection: {len(kept)} of {len(labels)} training images kept")
        return (images[kept], labels[kept]), test
