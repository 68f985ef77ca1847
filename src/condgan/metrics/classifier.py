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
INPUT_SIZE = 28  # by default, images of any size are resized to this before the first convolution


class UnsupportedDatasetError(ValueError):
    """No committed classifier for this dataset, so its samples cannot be measured."""


class DomainClassifier(nn.Module):
    """Three strided convolutions and a 128-d embedding; images in [-1, 1] of any size, grayscale or RGB.

    ``features(x)`` is the penultimate embedding the distances are measured in; ``forward(x)`` the logits.
    Images are first resized to ``input_size`` (28 for the digits and clothes, 32 for emoji: three stride-2
    convolutions take either to 4×4). Strided convolutions instead of pooling keep it at ~1.8 M multiply-adds
    per 28-px grayscale image: 10k images take about two seconds on two CPU cores.
    """

    feature_dim = 128

    def __init__(self, num_classes: int = 10, dropout: float = 0.2, channels: int = 1, input_size: int = INPUT_SIZE):
        super().__init__()
        self.num_classes, self.channels, self.input_size = num_classes, channels, input_size
        self.convs = nn.Sequential(
            nn.Conv2d(channels, 32, 5, stride=2, padding=2),  # (B, 32, 14, 14) at 28 px, (B, 32, 16, 16) at 32
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),  # (B, 64, 7, 7) / (B, 64, 8, 8)
            nn.ReLU(inplace=True),
            nn.Conv2d(64, 64, 3, stride=2, padding=1),  # (B, 64, 4, 4)
            nn.ReLU(inplace=True),
            nn.Flatten(),  # (B, 64·side²), side = ⌈input_size / 8⌉
        )
        side = (input_size + 7) // 8  # each stride-2 convolution rounds the side up
        self.embedding = nn.Sequential(nn.Linear(64 * side * side, self.feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(self.feature_dim, num_classes))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [-1, 1] → (B, 128) non-negative embeddings."""
        if images.ndim != 4 or images.shape[1] != self.channels:
            kind = {1: "grayscale", 3: "RGB"}.get(self.channels, f"{self.channels}-channel")
            raise ValueError(
                f"this DomainClassifier takes {kind} images (B, {self.channels}, H, W), got {tuple(images.shape)}"
            )
        if images.shape[-2:] != (self.input_size, self.input_size):
            # Bilinear with antialias, as the real images are resized: both go through the same filter.
            images = F.interpolate(images, size=(self.input_size, self.input_size), mode="bilinear", antialias=True)
        return self.embedding(self.convs(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) in [-1, 1] → (B, num_classes) logits."""
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
            f"(the dataset must be known to condgan.data.datasets), which writes {path}, and commit that file."
        )
    saved = torch.load(path, map_location="cpu", weights_only=True)
    # Plain ints from the file; files written before RGB classifiers existed are grayscale at 28 px.
    classifier = DomainClassifier(
        num_classes=saved["num_classes"],
        channels=saved.get("channels", 1),
        input_size=saved.get("input_size", INPUT_SIZE),
    )
    classifier.load_state_dict(saved.pop("state_dict"))  # float16 on disk, copied into float32 parameters
    return classifier.eval(), saved
