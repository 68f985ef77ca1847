"""`python -m condgan.data <name> [--data-dir data] [--tarballs DIR]`: fetch (emoji: build) a dataset and print
its folder."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from condgan.data.cifar10 import ensure_cifar10
from condgan.data.emoji import ensure_emoji
from condgan.data.sources import DATASETS, ensure_dataset
from condgan.errors import exit_on_user_error

NAMES = sorted([*DATASETS, "cifar10", "emoji"])


def fetch(name: str, data_dir: str, try_download: bool, tarballs: str | None = None) -> Path:
    """The folder holding ``name``'s files, fetched first if needed."""
    if name == "cifar10":
        return ensure_cifar10(data_dir, try_download=try_download)
    if name == "emoji":  # built from npm tarballs (npm pack fetches them) and the Debian emoji font
        return ensure_emoji(Path(data_dir) / "emoji", tarballs=tarballs)
    return ensure_dataset(name, data_dir, try_download=try_download)


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m condgan.data", description=__doc__)
    parser.add_argument("name", choices=NAMES)
    parser.add_argument("--data-dir", default="data", help="root folder (default: data)")
    parser.add_argument("--no-download", action="store_true", help="skip torchvision's download")
    parser.add_argument("--tarballs", metavar="DIR", help="emoji: a folder holding the npm tarballs (npm pack's)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(fetch(args.name, args.data_dir, try_download=not args.no_download, tarballs=args.tarballs))


if __name__ == "__main__":
    main()
