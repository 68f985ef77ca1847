"""``python -m condgan.metrics.train_classifier <mnist|fashion_mnist|emoji> [--data-dir data] [--epochs N]``

Each committed weights file records the command that made it (``docs/metrics.md`` lists them).

Trains the dataset's DomainClassifier with a fixed seed on the training split minus a held-out part
(the images of the real-data floor), measures it on the test split and writes its float16 weights with
plain metadata into the package (``condgan/metrics/weights/<dataset>.pt``), ready to commit.
"""

import argparse
import logging
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from condgan.checkpoints.io import atomic_save
from condgan.data.datamodule import InMemoryImages, keep_batch
from condgan.data.datasets import NAMES, class_names, conditions, load_named_split
from condgan.gan.augment import random_shifts
from condgan.metrics.classifier import INPUT_SIZE, DomainClassifier, weights_path
from condgan.metrics.features import embed
from condgan.metrics.measure import condition_accuracies, label_accuracy
from condgan.metrics.reference import HOLDOUT_PER_CLASS, HOLDOUT_SEED, holdout_split

log = logging.getLogger(__name__)

MAX_SHIFT = 2  # pixels of random translation in training: +0.1 % on MNIST; Fashion-MNIST trains without (-0.6 %)


def train_classifier(
    dataset: str,
    data_dir: str | Path,
    epochs: int,
    seed: int,
    holdout_per_class: int = HOLDOUT_PER_CLASS,
    batch_size: int = 128,
    lr: float = 2e-3,
    max_shift: int = MAX_SHIFT,
    input_size: int = INPUT_SIZE,
    holdout_seed: int = HOLDOUT_SEED,
) -> DomainClassifier:
    """Adam with a cosine learning-rate decay over all steps, images shifted by up to ``max_shift`` pixels
    (the classifier should not care where on the canvas a generator draws); returns the model in eval mode."""
    torch.manual_seed(seed)
    shift_rng = torch.Generator().manual_seed(seed)
    images, labels = load_named_split(dataset, data_dir, "train")
    _, train_indices = holdout_split(labels, holdout_per_class, holdout_seed)
    loader = DataLoader(
        InMemoryImages(images[train_indices], labels[train_indices]),
        batch_size=batch_size,
        shuffle=True,
        collate_fn=keep_batch,
        generator=torch.Generator().manual_seed(seed),
    )
    model = DomainClassifier(len(class_names(dataset)), channels=images.shape[1], input_size=input_size)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(loader))
    for epoch in range(epochs):
        model.train()
        correct = 0
        for batch, targets in loader:
            logits = model(random_shifts(batch, max_shift, max_shift, fill=None, generator=shift_rng))
            loss = F.cross_entropy(logits, targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            correct += int((logits.argmax(dim=1) == targets).sum())
        log.info("epoch %d/%d: train accuracy %.4f (in training mode)", epoch + 1, epochs, correct / len(train_indices))
    return model.eval()


def round_to_float16(model: DomainClassifier) -> dict[str, torch.Tensor]:
    """The float16 state dict that is saved, loaded back into ``model`` so that it is measured as shipped."""
    state = {name: tensor.half() for name, tensor in model.state_dict().items()}
    model.load_state_dict(state)
    return state


def accuracy_on_test_split(model: DomainClassifier, dataset: str, data_dir: str | Path) -> dict[str, float]:
    """{"test_accuracy": share of test images classified right, and per condition ``<condition>_acc``}."""
    test = embed(model, *load_named_split(dataset, data_dir, "test"))
    return {"test_accuracy": label_accuracy(test), **condition_accuracies(test, conditions(dataset))}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m condgan.metrics.train_classifier", description=__doc__)
    parser.add_argument("dataset", choices=NAMES)
    parser.add_argument("--data-dir", default="data", help="the data root (default: data)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--holdout-per-class",
        type=int,
        default=HOLDOUT_PER_CLASS,
        help="training images per class kept out for the real-data floor (default: %(default)s)",
    )
    parser.add_argument(
        "--holdout-seed", type=int, default=HOLDOUT_SEED, help="seed of the per-class holdout (default: %(default)s)"
    )
    parser.add_argument(
        "--max-shift",
        type=int,
        default=MAX_SHIFT,
        help="random translation of training images, in pixels (default: %(default)s)",
    )
    parser.add_argument(
        "--input-size",
        type=int,
        default=INPUT_SIZE,
        help="side images are resized to before the first convolution (default: %(default)s)",
    )
    parser.add_argument("--out", type=Path, help="weights file (default: the package's weights/<dataset>.pt)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)

    start = time.monotonic()
    model = train_classifier(
        args.dataset,
        args.data_dir,
        args.epochs,
        args.seed,
        args.holdout_per_class,
        max_shift=args.max_shift,
        input_size=args.input_size,
        holdout_seed=args.holdout_seed,
    )
    train_seconds = time.monotonic() - start
    state = round_to_float16(model)
    accuracies = accuracy_on_test_split(model, args.dataset, args.data_dir)
    metadata: dict[str, Any] = {
        "dataset": args.dataset,
        "num_classes": model.num_classes,
        "channels": model.channels,
        "input_size": model.input_size,
        # of the float16 weights below, on the test split at its native size; per condition for emoji_styles
        **accuracies,
        "epochs": args.epochs,
        "max_shift": args.max_shift,
        "seed": args.seed,
        "holdout_per_class": args.holdout_per_class,
        "holdout_seed": args.holdout_seed,
        "train_seconds": round(train_seconds, 1),
        "command": shlex.join(["python", "-m", "condgan.metrics.train_classifier", *argv]),
        "torch_version": str(torch.__version__),  # a str subclass that weights_only loading refuses
    }
    out = args.out or weights_path(args.dataset)
    atomic_save({"state_dict": state, **metadata}, out)
    log.info(
        "%s: test accuracy %.4f after %d epochs in %.0f s (%d threads); wrote %s (%.0f kB)",
        args.dataset,
        accuracies["test_accuracy"],
        args.epochs,
        train_seconds,
        args.threads,
        out,
        out.stat().st_size / 1e3,
    )


if __name__ == "__main__":
    main()
