"""What a generator is, for the files and services made from it: its classes, shapes and training config."""

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from condgan.checkpoints.sidecar import Sidecar
from condgan.data import datasets
from condgan.data.cifar10 import CLASS_NAMES as CIFAR10_CLASS_NAMES

CIFAR10_DATAMODULE = "condgan.data.cifar10.Cifar10DataModule"
IMAGE_FOLDER_DATAMODULE = "condgan.data.image_folder.ImageFolderDataModule"


def config_sha256(config: dict[str, Any]) -> str:
    """sha256 of the config's canonical JSON (sorted keys, no spaces): equal hashes mean equal training configs."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def dataset_class_names(datamodule: dict[str, Any]) -> list[str] | None:
    """The class names the run's datamodule config implies, or None when the config cannot tell."""
    if datamodule.get("dataset") in datasets.NAMES:  # idx datasets, and image folders condgan makes (emoji)
        return list(datasets.class_names(datamodule["dataset"]))
    if datamodule.get("_target_") == CIFAR10_DATAMODULE:
        return list(CIFAR10_CLASS_NAMES)
    if datamodule.get("_target_") == IMAGE_FOLDER_DATAMODULE and Path(datamodule["data_dir"]).is_dir():
        # the image folder's own rule (read_class_folders): label i is the i-th sub-folder in name order
        folders = Path(datamodule["data_dir"]).iterdir()
        return sorted(p.name for p in folders if p.is_dir() and not p.name.startswith("."))
    return None


def label_conditions(config: dict[str, Any], num_classes: int) -> dict[str, list[str]] | None:
    """{condition: values} when the run's dataset labels several conditions at once (``datasets.conditions``)."""
    dataset = (config.get("datamodule") or {}).get("dataset")
    found = datasets.conditions(dataset) if dataset in datasets.NAMES else None
    if found is None or math.prod(map(len, found.values())) != num_classes:
        return None
    return {name: list(values) for name, values in found.items()}


def class_names(config: dict[str, Any], num_classes: int) -> list[str]:
    """Label i's name; the label numbers "0", "1", ... when the config names no classes (or a different count)."""
    names = dataset_class_names(config.get("datamodule") or {})
    return names if names is not None and len(names) == num_classes else [str(k) for k in range(num_classes)]


def generator_metadata(generator: nn.Module, config: dict[str, Any], source: str | Path, fmt: str) -> dict[str, Any]:
    """The JSON that travels with an exported generator (``<file>.json``) and that ``GET /metadata`` serves:
    ``condgan.checkpoints.sidecar.Sidecar``'s fields, with the training config itself for a safetensors file."""
    return Sidecar(
        classes=class_names(config, generator.num_classes),
        num_classes=generator.num_classes,
        latent_dim=generator.latent_dim,
        image_shape=list(generator.image_shape),
        inputs={"noise": ["batch", generator.latent_dim], "labels": ["batch"]},
        outputs={"images": ["batch", *generator.image_shape]},
        output_range=[-1.0, 1.0],
        config_sha256=config_sha256(config),
        source_checkpoint=str(Path(source).resolve()),
        format=fmt,
        torch_version=torch.__version__,
        config=config if fmt == "safetensors" else None,
        conditions=label_conditions(config, generator.num_classes),
    ).model_dump()
