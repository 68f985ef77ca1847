"""Quality metrics: the math against torchmetrics and brute force, behaviour on corrupted images,
the committed classifiers, and the training callback. Images are built here: CI has no real data."""

import csv
import math
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance
from torchvision.transforms.v2.functional import gaussian_blur

from condgan.checkpoints.io import read_checkpoint
from condgan.data.datamodule import to_unit_range
from condgan.metrics import METRICS, UnsupportedDatasetError, load_classifier, supported_datasets
from condgan.metrics.classifier import DomainClassifier, weights_path
from condgan.metrics.distances import frechet_distance, kernel_distance, knn_radii, manifold_coverage
from condgan.metrics.features import Embedded, embed
from condgan.metrics.measure import distances, label_accuracy, quality, reference_sized_parts
from condgan.metrics.reference import embedded_test_split, holdout_split
from condgan.metrics.train_classifier import main as train_classifier_main
from condgan.training.callbacks import BestCheckpoint, QualityMetrics
from condgan.training.callbacks.quality import WITHOUT_QUALITY_METRICS
from tests.helpers import ROOT, tiny_digits

REAL_DATA_DIR = Path(os.environ.get("CONDGAN_DATA_DIR", ROOT / "data"))
ACCURACY_TARGETS = {"mnist": 0.99, "fashion_mnist": 0.90}


def digit_like(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images (n, 1, 28, 28) and labels (n,): the tiny data set's label-dependent bars."""
    images, labels = tiny_digits(n, seed)
    return images.unsqueeze(1), labels.long()


def corrupt(images: torch.Tensor, noise: float = 0.0, blur: float = 0.0) -> torch.Tensor:
    """uint8 images with Gaussian pixel noise (std in [-1, 1] units) and/or a Gaussian blur (sigma in px)."""
    x = to_unit_range(images)
    if blur:
        x = gaussian_blur(x, kernel_size=[9, 9], sigma=[blur, blur])
    x = x + noise * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    return x.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)


class Penultimate(nn.Module):
    """The classifier's feature space as torchmetrics wants a feature extractor: forward → (B, num_features)."""

    def __init__(self, classifier: DomainClassifier):
        super().__init__()
        self.classifier, self.num_features = classifier, classifier.feature_dim

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(images)


class Passthrough(nn.Module):
    """Features fed to torchmetrics as if they were images."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


@pytest.fixture(scope="module")
def mnist_classifier() -> DomainClassifier:
    return load_classifier("mnist")[0]


# --- the math ---------------------------------------------------------------------------------


def test_frechet_distance_matches_torchmetrics_fid(mnist_classifier):
    real, _ = digit_like(300, seed=0)
    fake = corrupt(digit_like(300, seed=1)[0], noise=0.3)
    fid = FrechetInceptionDistance(feature=Penultimate(mnist_classifier))
    fid.update(to_unit_range(real), real=True)
    fid.update(to_unit_range(fake), real=False)
    labels = torch.zeros(300, dtype=torch.long)
    ours = frechet_distance(*(embed(mnist_classifier, images, labels).features for images in (real, fake)))
    assert ours == pytest.approx(float(fid.compute()), rel=1e-3)


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save all extracted features")
def test_kernel_distance_matches_torchmetrics_kid():
    real, fake = torch.randn(150, 16, dtype=torch.float64), torch.randn(150, 16, dtype=torch.float64) + 0.3
    # One subset as large as the sets: both implementations then use every vector, whatever their RNG.
    kid = KernelInceptionDistance(feature=Passthrough(16), subsets=1, subset_size=150)
    kid.update(real, real=True)
    kid.update(fake, real=False)
    assert kernel_distance(real, fake, seed=0, subsets=1) == pytest.approx(float(kid.compute()[0]), rel=1e-9)


def test_kernel_distance_is_seeded_and_leaves_the_global_rng_alone():
    real, fake = torch.randn(200, 8), torch.randn(200, 8) + 0.3
    torch.manual_seed(123)
    first = kernel_distance(real, fake, seed=1, subsets=3, subset_size=50)
    after = torch.rand(1)
    torch.manual_seed(123)
    assert kernel_distance(real, fake, seed=1, subsets=3, subset_size=50) == first
    assert torch.rand(1) == after  # the caller's random stream goes on as if KID had not run
    assert kernel_distance(real, fake, seed=2, subsets=3, subset_size=50) != first


def test_knn_manifolds_match_brute_force():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(60, 3, generator=g), torch.randn(40, 3, generator=g) * 1.5 + 0.5

    def kth_radius(points: torch.Tensor, k: int = 3) -> list[float]:
        return [sorted(float((p - q).norm()) for q in points)[k] for p in points]  # [0] is the point itself

    def coverage(points: torch.Tensor, centres: torch.Tensor, radii: list[float]) -> float:
        return sum(any(float((p - c).norm()) <= r for c, r in zip(centres, radii, strict=True)) for p in points) / len(
            points
        )

    assert knn_radii(real).tolist() == pytest.approx(kth_radius(real), rel=1e-5)
    precision = manifold_coverage(fake, real, knn_radii(real))
    recall = manifold_coverage(real, fake, knn_radii(fake))
    assert precision == pytest.approx(coverage(fake, real, kth_radius(real)))
    assert recall == pytest.approx(coverage(real, fake, kth_radius(fake)))
    assert 0 < precision < 1 and 0 < recall < 1


def test_precision_and_recall_compare_sets_of_the_reference_size():
    g = torch.Generator().manual_seed(0)

    def embedded(per_label: list[int], modes: int | None = None) -> Embedded:  # label k's points near (3k, 0, ...)
        labels = torch.cat([torch.full((n,), k) for k, n in enumerate(per_label)])
        features = torch.randn(len(labels), 8, generator=g)
        if modes:  # a collapsing generator: near-copies of a few points
            centres = torch.randn(modes, 8, generator=g)
            features = centres[torch.randint(0, modes, (len(labels),), generator=g)] + 0.05 * features
        features[:, 0] += labels * 3
        return Embedded(features, labels, labels)

    reference = embedded([20, 40])
    same_size, twenty_times = embedded([20, 40], modes=20), embedded([400, 800], modes=20)
    parts = reference_sized_parts(twenty_times, reference)
    assert len(parts) == 20 and all(part.labels.bincount().tolist() == [20, 40] for part in parts)
    assert torch.cat([part.features for part in parts]).unique(dim=0).shape == twenty_times.features.shape  # disjoint
    measured = distances(twenty_times, reference)
    assert measured["recall"] == pytest.approx(
        sum(manifold_coverage(reference.features, p.features, knn_radii(p.features)) for p in parts) / 20
    )
    # As one set, twenty near-copies of each point make every k-NN ball a speck: recall would read ~0.
    whole = manifold_coverage(reference.features, twenty_times.features, knn_radii(twenty_times.features))
    same = distances(same_size, reference)["recall"]
    assert whole < 0.1 and abs(measured["recall"] - same) < 0.2 and measured["recall"] > 0.5
    under_twice = embedded([39, 79], modes=20)
    assert reference_sized_parts(under_twice, reference) == [under_twice]  # one part: the whole set
    assert same == manifold_coverage(reference.features, same_size.features, knn_radii(same_size.features))


# --- the metrics on images ---------------------------------------------------------------------


def test_a_set_against_itself_or_a_second_sample_scores_at_the_limit(mnist_classifier):
    reference = embed(mnist_classifier, *digit_like(400, seed=0))
    same = quality(reference, reference, seed=0)
    assert same["fid"] == pytest.approx(0, abs=1e-3) and same["intra_fid"] == pytest.approx(0, abs=1e-3)
    assert same["precision"] == same["recall"] == 1
    second_sample = quality(embed(mnist_classifier, *digit_like(400, seed=1)), reference, seed=0)
    blurred_images = corrupt(digit_like(400, seed=1)[0], blur=1)
    blurred = quality(embed(mnist_classifier, blurred_images, reference.labels), reference, seed=0)
    for name in ("fid", "kid", "intra_fid"):
        assert abs(second_sample[name]) < 0.05 * blurred[name], name  # KID is unbiased: ~0, either sign


@pytest.mark.parametrize("kind, levels", [("noise", (0.0, 0.1, 0.25, 0.5, 1.0)), ("blur", (0.0, 0.5, 1.0, 2.0, 4.0))])
def test_metrics_worsen_monotonically_as_images_are_corrupted(mnist_classifier, kind, levels):
    reference = embed(mnist_classifier, *digit_like(400, seed=0))
    images, labels = digit_like(400, seed=1)
    corrupted = [embed(mnist_classifier, corrupt(images, **{kind: level}), labels) for level in levels]
    scores = [quality(sample, reference, seed=0) for sample in corrupted]
    for name in ("fid", "kid", "intra_fid"):
        values = [s[name] for s in scores]
        assert values == sorted(values) and len(set(values)) == len(values), (name, values)
    for name in ("precision", "recall"):
        values = [s[name] for s in scores]
        assert values == sorted(values, reverse=True) and values[-1] < values[0], (name, values)


def test_kid_subsets_change_only_kid(mnist_classifier):
    # 1200 images: KID's subsets of 1000 then differ from each other (at 400 each would be the whole set)
    reference = embed(mnist_classifier, *digit_like(1200, seed=0))
    sample = embed(mnist_classifier, corrupt(digit_like(1200, seed=1)[0], blur=1), reference.labels)
    full, few = quality(sample, reference, seed=0), quality(sample, reference, seed=0, kid_subsets=3)
    assert few["kid"] == kernel_distance(reference.features, sample.features, seed=0, subsets=3) != full["kid"]
    assert {k: v for k, v in few.items() if k != "kid"} == {k: v for k, v in full.items() if k != "kid"}


def test_label_accuracy_counts_agreement_with_the_requested_labels(mnist_classifier):
    images, _ = digit_like(100, seed=0)
    predicted = embed(mnist_classifier, images, torch.zeros(100, dtype=torch.long)).predicted
    assert label_accuracy(embed(mnist_classifier, images, predicted)) == 1
    assert label_accuracy(embed(mnist_classifier, images, (predicted + 1) % 10)) == 0


# --- the classifiers ---------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", sorted(ACCURACY_TARGETS))
def test_committed_classifier_is_small_safe_and_accurate(dataset):
    path = weights_path(dataset)
    assert path.stat().st_size < 1_000_000
    saved = torch.load(path, weights_only=True)  # plain types only: cannot run code
    assert all(t.dtype == torch.float16 for t in saved["state_dict"].values())
    assert {"command", "seed", "torch_version", "holdout_per_class", "holdout_seed"} <= set(saved)
    assert saved["test_accuracy"] >= ACCURACY_TARGETS[dataset]
    assert dataset in supported_datasets()


def test_classifier_takes_any_size_and_refuses_colour(mnist_classifier):
    assert mnist_classifier(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    assert mnist_classifier.features(torch.zeros(2, 1, 28, 28)).shape == (2, mnist_classifier.feature_dim)
    with pytest.raises(ValueError, match="grayscale"):
        mnist_classifier(torch.zeros(2, 3, 28, 28))


def test_unknown_dataset_names_the_supported_ones_and_how_to_train_one():
    with pytest.raises(UnsupportedDatasetError, match=r"'cifar10'.*fashion_mnist, mnist.*train_classifier cifar10"):
        load_classifier("cifar10")


def test_holdout_split_is_disjoint_per_class_and_seeded():
    labels = torch.arange(100) % 4
    held, rest = holdout_split(labels, per_class=5, seed=0)
    assert torch.bincount(labels[held]).tolist() == [5, 5, 5, 5]
    assert sorted(held.tolist() + rest.tolist()) == list(range(100))
    assert torch.equal(held, holdout_split(labels, per_class=5, seed=0)[0])
    assert not torch.equal(held, holdout_split(labels, per_class=5, seed=1)[0])


def test_train_classifier_command_writes_loadable_float16_weights(tiny_data_dir, tmp_path):
    out = tmp_path / "mnist.pt"
    train_classifier_main(
        ["mnist", "--data-dir", str(tiny_data_dir), "--epochs", "1", "--holdout-per-class", "2", "--out", str(out)]
    )
    saved = torch.load(out, weights_only=True)
    assert saved["holdout_per_class"] == 2 and saved["epochs"] == 1 and 0 <= saved["test_accuracy"] <= 1
    assert saved["command"].startswith("python -m condgan.metrics.train_classifier mnist --data-dir")


@pytest.mark.slow
@pytest.mark.parametrize("dataset, folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_label_accuracy_of_real_test_images_is_the_recorded_accuracy(dataset, folder):
    if not (REAL_DATA_DIR / folder / "raw" / "t10k-images-idx3-ubyte").is_file():
        pytest.skip(f"real {folder} not in {REAL_DATA_DIR}: `python -m condgan.data {dataset}` or set CONDGAN_DATA_DIR")
    test_set = embedded_test_split(dataset, str(REAL_DATA_DIR.resolve()), 28)
    accuracy = float((test_set.predicted == test_set.labels).double().mean())
    # >= up to two images: another CPU's float rounding may flip a borderline one.
    assert accuracy >= load_classifier(dataset)[1]["test_accuracy"] - 2e-4


# --- the training callback ---------------------------------------------------------------------


def test_callback_logs_every_metric_and_its_floor(run_cli):
    run_dir = run_cli("trainer.max_epochs=1", "test=false", "callbacks.quality_metrics.n_per_class=20")
    with open(run_dir / "csv" / "metrics.csv") as f:
        row = next(row for row in csv.DictReader(f) if row["val/fid"])
    for name in METRICS:
        assert math.isfinite(float(row[f"val/{name}"])) and math.isfinite(float(row[f"val/{name}_floor"])), name
    assert float(row["val/fid_floor"]) < float(row["val/fid"])  # one epoch of training is far from real data


def script_fids(monkeypatch, fids: Iterator[float]) -> None:
    """The quality callback reads the next of ``fids`` as each measured epoch's FID (the other metrics 0)."""

    def scripted_measurement(*args, **kwargs) -> dict[str, dict[str, float]]:
        return {"model": dict.fromkeys(METRICS, 0.0) | {"fid": next(fids)}, "floor": dict.fromkeys(METRICS, 0.0)}

    monkeypatch.setattr("condgan.training.callbacks.quality.measure_generator", scripted_measurement)


def test_best_checkpoint_is_chosen_by_fid_and_last_follows_training(run_cli, monkeypatch):
    fids = iter([3.0, 1.0, 2.0])  # epoch 1 is best; epoch 2 gets worse
    script_fids(monkeypatch, fids)
    checkpoints = run_cli("trainer.max_epochs=3", "test=false") / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["epoch_001.ckpt", "last.ckpt"]
    last = read_checkpoint(checkpoints / "last.ckpt")
    assert last["epoch"] == 2  # not the best epoch: the file to resume from
    ranking = next(state for key, state in last["callbacks"].items() if "val/fid" in key)
    assert float(ranking["best_model_score"]) == 1.0


def test_best_checkpoint_ranks_the_last_epoch_between_two_readings(run_cli, monkeypatch):
    fids = iter([3.0, 2.0])  # measured after epochs 2 and 3 (the last, not a multiple of 2): the last is best
    script_fids(monkeypatch, fids)
    run_dir = run_cli("trainer.max_epochs=3", "test=false", "callbacks.quality_metrics.every_n_epochs=2")
    checkpoints = run_dir / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["epoch_002.ckpt", "last.ckpt"]
    assert next(fids, None) is None  # measured exactly twice
    states = read_checkpoint(checkpoints / "last.ckpt")["callbacks"]
    key = next(key for key in states if "val/fid" in key)
    # ModelCheckpoint's key at the measured cadence: checkpoints written before BestCheckpoint resume with it
    assert key.startswith("ModelCheckpoint{") and "'every_n_epochs': 2" in key
    assert float(states[key]["best_model_score"]) == 2.0


def test_a_run_ranked_by_lightnings_modelcheckpoint_resumes_with_its_best(run_cli, monkeypatch):
    fids = iter([1.0, 2.0, 3.0])  # epoch 0 stays the best across the resume
    script_fids(monkeypatch, fids)
    before = "callbacks.model_checkpoint._target_=lightning.pytorch.callbacks.ModelCheckpoint"  # the earlier config
    run_dir = run_cli("trainer.max_epochs=2", "test=false", before)
    last = run_dir / "checkpoints" / "last.ckpt"
    run_cli("trainer.max_epochs=3", "test=false", f"ckpt_path={last}", run_dir=run_dir)
    # A best score forgotten on resume would keep epoch 2 (FID 3) beside epoch 0
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["epoch_000.ckpt", "last.ckpt"]
    assert read_checkpoint(last)["epoch"] == 2


def test_resuming_a_run_stopped_by_max_steps_does_not_rank_its_last_epoch_again(run_cli, monkeypatch):
    fids = iter([2.0, 1.0])  # epoch 1 (the end of the first fit), then epoch 2 (the resumed fit's only epoch)
    script_fids(monkeypatch, fids)
    steps = "++trainer.limit_train_batches=2"  # 4 optimizer steps an epoch: G's and D's
    measured = "callbacks.quality_metrics.every_n_epochs=2"
    first = run_cli("trainer.max_epochs=100", "++trainer.max_steps=8", steps, measured, "test=false")
    last = first / "checkpoints" / "last.ckpt"
    resumed = run_cli(
        "trainer.max_epochs=100",
        "++trainer.max_steps=12",
        steps,
        measured,
        "test=false",
        f"ckpt_path={last}",
        run_dir=first.parent / "resumed",
    )
    # Lightning replays epoch 1's end before training: ranked there without a score, it warned of a missing val/fid
    assert "could not find the monitored key" not in (resumed / "train.log").read_text()
    assert sorted(p.name for p in (resumed / "checkpoints").iterdir()) == ["epoch_002.ckpt", "last.ckpt"]
    assert read_checkpoint(resumed / "checkpoints" / "last.ckpt")["global_step"] == 12


def test_best_checkpoint_refuses_a_cadence_below_one():
    with pytest.raises(ValueError, match=r"every_n_epochs=0: set .* to 1 or more .* callbacks.model_checkpoint=null"):
        BestCheckpoint(monitor="val/fid", every_n_epochs=0)


def test_callback_measures_kid_on_its_own_subset_count(run_cli, monkeypatch):
    calls = []

    def spy(*args, **kwargs) -> dict[str, dict[str, float]]:
        calls.append(args[7:] or kwargs.get("kid_subsets"))
        return {"model": dict.fromkeys(METRICS, 1.0), "floor": dict.fromkeys(METRICS, 0.0)}

    monkeypatch.setattr("condgan.training.callbacks.quality.measure_generator", spy)
    run_cli("trainer.max_epochs=1", "test=false", "callbacks.quality_metrics.kid_subsets=4")
    assert calls == [(4,)]
    with pytest.raises(ValueError, match="kid_subsets >= 1"):
        QualityMetrics(kid_subsets=0)


@pytest.mark.parametrize(("precision", "autocast"), [("bf16-mixed", True), ("32-true", False)])
def test_callback_samples_in_the_training_precision(run_cli, monkeypatch, precision, autocast):
    """The generator's calls run under the trainer's autocast (half the time in bf16 here); nothing else does."""
    seen = []

    def spy(*args, sampling_context, **kwargs) -> dict[str, dict[str, float]]:
        seen.append(torch.is_autocast_enabled("cpu"))
        with sampling_context():
            seen.append(torch.is_autocast_enabled("cpu"))
        return {"model": dict.fromkeys(METRICS, 1.0), "floor": dict.fromkeys(METRICS, 0.0)}

    monkeypatch.setattr("condgan.training.callbacks.quality.measure_generator", spy)
    run_cli("trainer.max_epochs=1", "test=false", f"trainer.precision={precision}")
    assert seen == [False, autocast]


def test_callback_refuses_a_dataset_without_classifier_before_training():
    trainer = SimpleNamespace(datamodule=SimpleNamespace(dataset="cifar10", data_dir="data", image_size=32))
    with pytest.raises(UnsupportedDatasetError, match=f"train_classifier cifar10.*{WITHOUT_QUALITY_METRICS}"):
        QualityMetrics().setup(trainer, None, stage="fit")


def test_training_without_quality_metrics_as_the_error_suggests(run_cli):
    run_dir = run_cli("trainer.max_epochs=2", "test=false", *WITHOUT_QUALITY_METRICS.split())
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["last.ckpt"]  # no FID, no best-FID checkpoint
    with open(run_dir / "csv" / "metrics.csv") as f:
        assert "val/fid" not in next(csv.reader(f))
