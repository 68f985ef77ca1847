"""The measuring stick of every quality metric: a small CNN per dataset, committed with its weights.

FID is usually computed in Inception-v3's feature space, but those weights cannot be downloaded here and
Inception never saw a handwritten digit. A classifier trained on the dataset itself gives a feature space
that knows what the classes look like; committing its weights makes every run and machine use the same one.
"""

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_DIR = Path(__file__).parent / "weights"
INPUT_SIZE = 28  # images of any size are resized to this before the first convolution


class UnsupportedDatasetError(ValueError):
    """No committed classifier for this dataset, so its samples cannot be measured."""


class DomainClassifier(nn.Module):
    """Three strided convolutions and a 128-d embedding; grayscale images in [-1, 1] of any size.

    ``features(x)`` is the penultimate embedding the distances are measured in; ``forward(x)`` the logits.
    Strided convolutions instead of pooling keep it at ~1.8 M multiply-adds per image: 10k images take
    about two seconds on two CPU cores.
    """

    feature_dim = 128

    def __init__(self, num_classes: int = 10, dropout: float = 0.2):
        super().__init__()
        self.num_classes = num_classes
        self.convs = nn.Sequential(
            nn.Conv2d(1, 32, 5, stride=2, padding=2),  # (B, 32, 14, 14)
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),  # (B, 64, 7, 7)
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 3, stride=2, padding=1),  # (B, 64, 4, 4)
            nn.ReLU(inplace=True),
            nn.Flatten(),  # (B, 1024)
        )
        self.embedding = nn.Sequential(nn.Linear(64 * 4 * 4, self.feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.feature_dim, num_classes))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) in [-1, 1] → (B, 128) non-negative embeddings."""
        if images.ndim != 4 or images.shape[1] != 1:
            raise ValueError(f"DomainClassifier takes grayscale images (B, 1, H, W), got {tuple(images.shape)}")
        if images.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            # Bilinear with antialias, as load_split resizes the real images: both go through the same filter.
            images = F.interpolate(images, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True)
        return self.embedding(self.convs(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) in [-1, 1] → (B, num_classes) logits."""
        return self.head(self.features(images))


def weights_path(dataset: str) -> Path:
    return WEIGHTS_DIR / f"{dataset}.pt"


def supported_datasets() -> list[str]:
    return sorted(path.stem for path in WEIGHTS_DIR.glob("*.pt"))


def load_classifier(dataset: str) -> tuple[DomainClassifier, dict[str, Any]]:
    """The committed classifier of ``dataset`` (float32, eval mode, CPU) and its metadata (test accuracy, ...)."""
    path = weights_path(dataset)
    if dataset not in supported_datasets():  # a name, not a path: a checkpoint's config cannot point elsewhere
        raise UnsupportedDatasetError(
            f"No quality-metric classifier for dataset {dataset!r}; committed ones: {', '.join(supported_datasets())}. "
            f"To measure another dataset, train one with `python -m condgan.metrics.train_classifier {dataset}` "
            f"(the dataset must be known to condgan.data.sources), which writes {path}, and commit that file."
        )
    saved = torch.load(path, map_location="cpu", weights_only=True)
    classifier = DomainClassifier(num_classes=saved["num_classes"])
    classifier.load_state_dict(saved.pop("state_dict"))  # float16 on disk, copied into float32 parameters
    return classifier.eval(), saved
