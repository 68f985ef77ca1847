"""`python -m condgan.data <name> [--data-dir data]`: fetch a dataset and print its folder."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from condgan.data.cifar10 import ensure_cifar10
from condgan.data.sources import DATASETS, ChecksumError, DatasetUnavailableError, ensure_dataset

NAMES = sorted([*DATASETS, "cifar10"])


def fetch(name: str, data_dir: str, try_download: bool) -> Path:
    """The folder holding ``name``'s files, fetched first if needed."""
    if name == "cifar10":
        return ensure_cifar10(data_dir, try_download=try_download)
    return ensure_dataset(name, data_dir, try_download=try_download)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m condgan.data", description=__doc__)
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--data-dir", default="data", help="root folder (default: data)")
    parser.add_argument("--no-download", action="store_true", help="skip torchvision's download")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        folder = fetch(args.name, args.data_dir, try_download=not args.no_download)
    except (DatasetUnavailableError, ChecksumError) as error:
        raise SystemExit(f"error: {error}") from None
    print(folder)


if __name__ == "__main__":
    main()
