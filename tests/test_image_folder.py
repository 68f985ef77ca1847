"""CIFAR-10 and image-folder data on tiny files written by the tests: offline, a few seconds."""

from __future__ import annotations

import collections
import hashlib
import io
import pickle
import re
import socket
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from condgan.data import cifar10
from condgan.data.__main__ import main as cli_main
from condgan.data.cifar10 import Cifar10DataModule, batches_dir, ensure_cifar10, load_cifar10_split
from condgan.data.datamodule import IdxDataModule
from condgan.data.image_folder import ImageFolderDataModule
from condgan.data.sources import DOWNLOAD_TIMEOUT_S, ChecksumError, DatasetUnavailableError

IMAGES_PER_BATCH = 4  # 5 training batches: 20 training images; the test batch: 4 images


# --- CIFAR-10 -----------------------------------------------------------------------------------


def tiny_cifar_images(n: int, offset: int) -> np.ndarray:
    """uint8 n×3×32×32 whose pixel [0, 0] holds the sample id in R, its channel number ×100 in G and B."""
    images = np.random.default_rng(offset).integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(offset, offset + n)
    images[:, 1:, 0, 0] = [100, 200]
    images[0, 0, 1, :2] = (0, 255)  # the extremes of the [-1, 1] mapping
    return images


def pickle_like_python2(batch: dict) -> bytes:
    """Protocol 2 with each array's bytes as a latin-1 str, like the real batches written by Python 2."""

    class Python2StylePickler(pickle.Pickler):
        def reducer_override(self, obj: object) -> object:
            if isinstance(obj, np.ndarray):  # numpy's own reduction, with Python 2's str in place of bytes
                reconstruct, (cls, shape, _), state = obj.__reduce__()
                return reconstruct, (cls, shape, "b"), (*state[:4], obj.tobytes().decode("latin1"))
            return NotImplemented

    buffer = io.BytesIO()
    Python2StylePickler(buffer, protocol=2).dump(batch)
    return buffer.getvalue()


def tiny_cifar_batches() -> dict[str, bytes]:
    """{batch file name: pickled {"data": uint8 N×3072, "labels": N ints (id % 10), ...}}; test ids start at 100."""
    files = {}
    for i, name in enumerate([*cifar10.SPLIT_BATCHES["train"], *cifar10.SPLIT_BATCHES["test"]]):
        offset = 100 if name == "test_batch" else i * IMAGES_PER_BATCH
        images = tiny_cifar_images(IMAGES_PER_BATCH, offset)
        batch = {
            "batch_label": name,
            "labels": [(offset + j) % 10 for j in range(IMAGES_PER_BATCH)],
            "data": images.reshape(IMAGES_PER_BATCH, -1),  # R plane, G plane, B plane, each 32×32 row-major
            "filenames": [f"image_{offset + j}.png" for j in range(IMAGES_PER_BATCH)],
        }
        files[name] = pickle_like_python2(batch)
    return files


def md5_table(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.md5(data).hexdigest() for name, data in files.items()}


@pytest.fixture
def tiny_cifar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """data_dir holding tiny CIFAR-10 batches, with the MD5 table switched to theirs."""
    files = tiny_cifar_batches()
    monkeypatch.setattr(cifar10, "MD5", md5_table(files))
    folder = batches_dir(tmp_path / "data")
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return tmp_path / "data"


def image_ids(images: torch.Tensor) -> torch.Tensor:
    """The sample id stored in pixel [0, 0] of the R plane, from float images B×3×H×W in [-1, 1]."""
    return torch.round((images[:, 0, 0, 0] + 1) * 127.5).long()


def test_cifar10_batches(tiny_cifar: Path) -> None:
    dm = Cifar10DataModule(data_dir=str(tiny_cifar), batch_size=4, val_size=4, try_download=False)
    dm.prepare_data()
    dm.setup("fit")
    assert (dm.num_classes, dm.channels, dm.image_shape) == (10, 3, (3, 32, 32))
    assert dm.class_names[0] == "airplane" and dm.class_names[-1] == "truck"
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (16, 4, 4)
    assert torch.equal(dm.test_set.images, torch.from_numpy(tiny_cifar_images(IMAGES_PER_BATCH, 100)))

    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (4, 3, 32, 32) and images.dtype == torch.float32
    assert labels.shape == (4,) and labels.dtype == torch.int64
    seen = []
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        for images, labels in loader:
            assert images.min() >= -1 and images.max() <= 1
            assert torch.equal(labels, image_ids(images) % 10)  # every label still belongs to its image
            assert torch.all(torch.round((images[:, 1:, 0, 0] + 1) * 127.5) == torch.tensor([100, 200]))
            seen += image_ids(images).tolist()
    assert sorted(seen) == list(range(20)) + list(range(100, 104))
    assert {0, 255} <= set(dm.train_set.images.unique().tolist()) | set(dm.val_set.images.unique().tolist())


def test_cifar10_resize_and_channels(tiny_cifar: Path) -> None:
    images, labels = load_cifar10_split(tiny_cifar, "test", image_size=16)
    assert images.shape == (IMAGES_PER_BATCH, 3, 16, 16) and images.dtype == torch.uint8
    assert labels.tolist() == [(100 + j) % 10 for j in range(IMAGES_PER_BATCH)]
    with pytest.raises(ValueError, match=re.escape("set datamodule.channels=3")):
        Cifar10DataModule(data_dir=str(tiny_cifar), channels=1)
    with pytest.raises(ValueError, match=re.escape("set datamodule.num_classes=10")):
        Cifar10DataModule(data_dir=str(tiny_cifar), num_classes=5)


def test_cifar10_offline_with_nothing_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    timeouts_during_download = []

    def offline_download(*args: object, **kwargs: object) -> None:
        timeouts_during_download.append(socket.getdefaulttimeout())
        raise OSError("no network")

    monkeypatch.setattr(cifar10, "download_and_extract_archive", offline_download)
    previous = socket.getdefaulttimeout()
    with pytest.raises(DatasetUnavailableError) as error:
        ensure_cifar10(tmp_path / "data")
    message = str(error.value)
    assert f"not available in {tmp_path / 'data' / 'cifar-10-batches-py'}" in message
    assert "torchvision download: OSError: no network" in message
    assert f"put it in {tmp_path / 'data'}" in message and "cifar-10-python.tar.gz" in message
    assert timeouts_during_download == [DOWNLOAD_TIMEOUT_S] and socket.getdefaulttimeout() == previous

    with pytest.raises(SystemExit, match="error: CIFAR-10 is not available"):
        cli_main(["cifar10", "--data-dir", str(tmp_path / "data"), "--no-download"])
    with pytest.raises(FileNotFoundError, match=re.escape("python -m condgan.data cifar10")):
        Cifar10DataModule(data_dir=str(tmp_path / "data")).setup("fit")


def test_cifar10_from_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    files = tiny_cifar_batches()
    monkeypatch.setattr(cifar10, "MD5", md5_table(files))
    archive = tmp_path / "data" / "cifar-10-python.tar.gz"
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", hashlib.md5(archive.read_bytes()).hexdigest())

    cli_main(["cifar10", "--data-dir", str(tmp_path / "data"), "--no-download"])

    folder = batches_dir(tmp_path / "data")
    assert capsys.readouterr().out.strip() == str(folder)
    assert all((folder / name).read_bytes() == data for name, data in files.items())


def test_cifar10_files_with_wrong_md5_are_kept(tiny_cifar: Path) -> None:
    batch = batches_dir(tiny_cifar) / "data_batch_2"
    batch.write_bytes(b"not the official batch")
    with pytest.raises(ChecksumError, match=re.escape(f"Delete {batches_dir(tiny_cifar)}")) as error:
        ensure_cifar10(tiny_cifar, try_download=False)
    assert "data_batch_2" in str(error.value)
    assert batch.read_bytes() == b"not the official batch"  # untouched


def test_cifar10_batches_may_hold_only_arrays(tiny_cifar: Path) -> None:
    test_batch = batches_dir(tiny_cifar) / "test_batch"
    test_batch.write_bytes(pickle.dumps(collections.OrderedDict(data=np.zeros((1, 3072), np.uint8), labels=[0])))
    with pytest.raises(pickle.UnpicklingError, match=re.escape("collections.OrderedDict")):
        load_cifar10_split(tiny_cifar, "test")
    test_batch.write_bytes(pickle_like_python2({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}))
    with pytest.raises(ValueError, match="test_batch is not a CIFAR-10 python batch"):
        load_cifar10_split(tiny_cifar, "test")


# --- image folders ------------------------------------------------------------------------------

CLASS_LEVELS = {"bird": 40, "cat": 120, "dog": 200}  # every image of a class shows its gray level


def write_image(path: Path, level: int, width: int, height: int, mode: str) -> None:
    """A level-filled square as tall as the image, centered between black margins that a center crop removes."""
    pixels = np.zeros((height, width), np.uint8)
    margin = (width - height) // 2
    pixels[:, margin : margin + height] = level
    image = Image.fromarray(pixels, "L")
    path.parent.mkdir(parents=True, exist_ok=True)
    (image if mode == "L" else image.convert(mode)).save(path)


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    """images/<class>/: 3 birds, 3 cats, 2 dogs, in mixed sizes, grayscale, RGB and RGBA PNGs."""
    root = tmp_path / "images"
    shapes = [(40, 20, "RGB"), (20, 20, "L"), (90, 50, "RGBA")]
    for name, level in CLASS_LEVELS.items():
        for i, (width, height, mode) in enumerate(shapes[: 2 if name == "dog" else 3]):
            write_image(root / name / f"{i}.png", level, width, height, mode)
    (root / "cat" / "notes.txt").write_text("not an image: skipped")
    return root


def labels_from_levels(images: torch.Tensor) -> torch.Tensor:
    """The class each uint8 image N×C×S×S shows, from its center pixel's gray level."""
    levels = torch.tensor(list(CLASS_LEVELS.values()))
    center = images[:, :, images.shape[-1] // 2, images.shape[-1] // 2].float().mean(1)
    return (center[:, None] - levels).abs().argmin(1)


def test_image_folder_resizes_crops_and_labels(tiny_folder: Path) -> None:
    dm = ImageFolderDataModule(str(tiny_folder), image_size=32, num_classes=3, test_size=2, val_size=2, batch_size=2)
    dm.setup("fit")
    assert dm.class_names == ["bird", "cat", "dog"] and dm.num_classes == 3 and dm.image_shape == (3, 32, 32)
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (4, 2, 2)
    all_images = torch.cat([dm.train_set.images, dm.val_set.images, dm.test_set.images])
    all_labels = torch.cat([dm.train_set.labels, dm.val_set.labels, dm.test_set.labels])
    assert all_images.shape == (8, 3, 32, 32) and all_images.dtype == torch.uint8
    assert sorted(all_labels.tolist()) == [0, 0, 0, 1, 1, 1, 2, 2]
    assert torch.equal(all_labels, labels_from_levels(all_images))  # labels kept with their images
    assert torch.all(all_images[:, 0] == all_images[:, 1])  # grayscale files became 3 equal channels
    inner = all_images[:, :, 2:-2, 2:-2].float()  # crop edges blend a little black from the resize
    assert torch.all((inner - inner.amax(dim=(1, 2, 3), keepdim=True)).abs() <= 1)  # the margins were cropped
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.float32 and labels.dtype == torch.int64


def test_image_folder_mirror_flips_training_images_only(tiny_folder: Path) -> None:
    dm = ImageFolderDataModule(str(tiny_folder), num_classes=3, test_size=2, val_size=2, batch_size=2, mirror=True)
    dm.setup("fit")
    assert dm.train_set.mirror and not dm.val_set.mirror and not dm.test_set.mirror
    assert not ImageFolderDataModule(str(tiny_folder), num_classes=3, test_size=2).mirror  # off by default


def test_image_folder_grayscale_64px_and_fraction_split(tiny_folder: Path) -> None:
    dm = ImageFolderDataModule(str(tiny_folder), image_size=64, channels=1, test_size=0.25, val_size=0)
    dm.setup("fit")
    assert dm.image_shape == (1, 64, 64) and dm.train_set.images.shape == (6, 1, 64, 64)
    assert len(dm.test_set) == 2 and dm.val_set is dm.test_set


def test_image_folder_test_split_is_seeded(tiny_folder: Path, tmp_path: Path) -> None:
    def test_images(**kwargs: object) -> torch.Tensor:
        dm = ImageFolderDataModule(str(tiny_folder), image_size=32, test_size=3, val_size=0, **kwargs)
        dm.setup("test")
        return dm.test_set.images

    assert torch.equal(test_images(split_seed=1), test_images(split_seed=1))
    assert not torch.equal(test_images(split_seed=1), test_images(split_seed=2))

    test_dir = tmp_path / "test_images"
    for name, level in CLASS_LEVELS.items():
        write_image(test_dir / name / "0.png", level, 32, 32, "RGB")
    dm = ImageFolderDataModule(str(tiny_folder), image_size=32, test_dir=str(test_dir), val_size=0)
    dm.setup("fit")
    assert len(dm.train_set) == 8 and dm.test_set.labels.tolist() == [0, 1, 2]

    write_image(test_dir / "emu" / "0.png", 10, 32, 32, "RGB")
    with pytest.raises(ValueError, match=r"class folders \['bird', 'cat', 'dog', 'emu'\]"):
        ImageFolderDataModule(str(tiny_folder), test_dir=str(test_dir)).setup("fit")


def test_image_folder_errors(tiny_folder: Path, tmp_path: Path) -> None:
    def setup(folder: Path, **kwargs: object) -> None:
        ImageFolderDataModule(str(folder), image_size=32, **kwargs).setup("fit")

    with pytest.raises(FileNotFoundError, match=re.escape(f"image folder {tmp_path / 'missing'} does not exist")):
        setup(tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "0.png").write_bytes((tiny_folder / "cat" / "0.png").read_bytes())
    with pytest.raises(ValueError, match="has no class sub-folders"):
        setup(tmp_path / "flat")
    with pytest.raises(ValueError, match=re.escape("have 3 classes but num_classes=5; set datamodule.num_classes=3")):
        setup(tiny_folder, num_classes=5)
    with pytest.raises(ValueError, match="test_size=0 holds out no test images"):
        setup(tiny_folder, test_size=0)
    with pytest.raises(ValueError, match="serves 1 or 3-channel images"):
        setup(tiny_folder, channels=2)

    (tiny_folder / "dog" / "2.png").write_bytes(b"\x89PNG truncated")
    with pytest.raises(ValueError, match=re.escape(f"cannot read image {tiny_folder / 'dog' / '2.png'}")):
        setup(tiny_folder)
    (tiny_folder / "dog" / "2.png").unlink()
    (tiny_folder / "eel").mkdir()
    (tiny_folder / "eel" / ".hidden.png").write_bytes(b"")
    with pytest.raises(ValueError, match=re.escape(f"class folder {tiny_folder / 'eel'} has no images")):
        setup(tiny_folder)


def test_idx_datamodule_checks_channels_and_classes() -> None:
    with pytest.raises(ValueError, match="IdxDataModule serves 1-channel images, got channels=3"):
        IdxDataModule(channels=3)
    with pytest.raises(ValueError, match=re.escape("set datamodule.num_classes=10")):
        IdxDataModule(num_classes=3)


def test_fast_dev_run_on_image_folder(run_cli, tiny_folder: Path) -> None:
    run_dir = run_cli(
        "datamodule=image_folder",
        f"datamodule.data_dir={tiny_folder}",
        "datamodule.num_classes=3",
        "datamodule.image_size=32",
        "datamodule.test_size=2",
        "datamodule.val_size=2",
        "datamodule.batch_size=2",
        "model=dcgan",
        "debug=fast_dev_run",
        # The quality metrics measure MNIST-style data sets only; the sample grid shows the RGB samples.
        "callbacks=none",
        "+callbacks.sample_grid={_target_: condgan.training.callbacks.SampleGrid, "
        "dirpath: '${paths.output_dir}/samples'}",
    )
    grid = Image.open(run_dir / "samples" / "epoch_000.png")
    assert grid.mode == "RGB"
