"""The README's emoji pictures: a generator's grid beside the real test images, laid out alike (a row per group,
each row the noto images, then the twemoji ones).

    python -m bench.emoji_grids logs/bench/quality/emoji_styles/checkpoints/last.ckpt --truncation 0.8

writes docs/images/emoji_styles_samples.png (what `condgan generate ckpt_path=<that file> n_per_class=3
truncation=0.8 out=...png` draws) and docs/images/emoji_styles_real.png (the first 3 test images of every group
and style).
"""

import argparse
from pathlib import Path

import numpy as np

from condgan.data.datasets import conditions, load_named_split
from condgan.inference.images import image_grid, png_bytes
from condgan.inference.sample_files import generate

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"


def real_grid(data_dir: str | Path, per_class: int) -> np.ndarray:
    """(3, H, W) uint8: the first ``per_class`` test images of every emoji_styles label the split holds (all 18 in
    a full build), a group's labels a row."""
    images, labels = load_named_split("emoji_styles", data_dir, "test")
    picked = [np.flatnonzero(labels.numpy() == label)[:per_class] for label in labels.unique().tolist()]
    if min(map(len, picked)) < per_class:
        raise ValueError(f"a class has fewer than {per_class} test images; ask for fewer")
    return image_grid(images.numpy()[np.concatenate(picked)], per_class * len(conditions("emoji_styles")["style"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", help="an emoji_styles run's checkpoint (or its export)")
    parser.add_argument("--per-class", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--truncation", type=float, default=None, help="as condgan generate's; default: off")
    parser.add_argument("--data-dir", default=str(ROOT / "data"))
    args = parser.parse_args()
    out = IMAGES / "emoji_styles_samples.png"
    samples = generate(args.checkpoint, out, n_per_class=args.per_class, seed=args.seed, truncation=args.truncation)
    real = IMAGES / "emoji_styles_real.png"
    real.write_bytes(png_bytes(real_grid(args.data_dir, args.per_class)))
    print(samples, real)


if __name__ == "__main__":
    main()
