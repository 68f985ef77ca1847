"""`python -m condgan.data <name> [--data-dir data]`: fetch a dataset and print its raw folder."""

from __future__ import annotations

import argparse
import logging

from condgan.data.sources import DATASETS, ChecksumError, DatasetUnavailableError, ensure_dataset


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m condgan.data", description=__doc__)
    parser.add_argument("name", choices=sorted(DATASETS))
    parser.add_argument("--data-dir", default="data", help="root folder (default: data)")
    parser.add_argument("--no-download", action="store_true", help="skip torchvision's download")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        folder = ensure_dataset(args.name, args.data_dir, try_download=not args.no_download)
    except (DatasetUnavailableError, ChecksumError) as error:
        raise SystemExit(f"error: {error}") from None
    print(folder)


if __name__ == "__main__":
    main()
