"""The real-data floor's spread over seeds: the committed classifier's recipe retrained with other seeds and
other held-out images, each scoring its held-out real images against the test split like a generator.

    python -m bench.floor_spread --dataset emoji --seeds 0 1 2 3 4

Seed 0 reproduces the committed classifier (its seed and holdout seed are 0, trained with 2 threads:
another thread count sums in another order and trains another classifier). On a small data set the floor
moves with the classifier and with which images are held out; this shows by how much.
"""

import argparse
import statistics
from pathlib import Path

import torch

from bench._report import write_section
from condgan.data.datasets import conditions as dataset_conditions
from condgan.data.datasets import load_named_split, native_image_size
from condgan.metrics.classifier import load_classifier
from condgan.metrics.features import embed
from condgan.metrics.files import column
from condgan.metrics.measure import METRICS, quality
from condgan.metrics.reference import floor_images
from condgan.metrics.train_classifier import accuracy_on_test_split, round_to_float16, train_classifier

ROOT = Path(__file__).resolve().parents[1]


def floor_for_seed(dataset: str, data_dir: str, recipe: dict, seed: int, n_per_class: int) -> dict[str, float]:
    """Train the recipe with ``seed`` (and holdout seed ``seed``); its test accuracy and floor metrics."""
    model = train_classifier(
        dataset,
        data_dir,
        recipe["epochs"],
        seed,
        recipe["holdout_per_class"],
        max_shift=recipe["max_shift"],
        input_size=recipe.get("input_size", 28),
        holdout_seed=seed,
    )
    round_to_float16(model)  # measured as it would be shipped
    size = native_image_size(dataset)
    holdout = {"holdout_per_class": recipe["holdout_per_class"], "holdout_seed": seed}
    floor = embed(model, *floor_images(dataset, data_dir, size, n_per_class, holdout))
    reference = embed(model, *load_named_split(dataset, data_dir, "test", size))
    conditions = dataset_conditions(dataset)
    return {**accuracy_on_test_split(model, dataset, data_dir), **quality(floor, reference, 0, conditions=conditions)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="emoji")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--n-per-class", type=int, default=1000, help="floor images per class (at most the holdout)")
    parser.add_argument("--data-dir", default=str(ROOT / "data"))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads, as train_classifier (default: 2)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    _, recipe = load_classifier(args.dataset)
    names = ["test_accuracy", *METRICS, *(f"{name}_acc" for name in dataset_conditions(args.dataset) or {})]
    titles = ["classifier test accuracy", *(column(name)[0] for name in names[1:])]
    results = []
    for seed in args.seeds:
        results.append(floor_for_seed(args.dataset, args.data_dir, recipe, seed, args.n_per_class))
        print(seed, {name: round(results[-1][name], 4) for name in names}, flush=True)

    def cell(values: list[float]) -> str:
        spread = f" ± {statistics.stdev(values):.3g}" if len(values) > 1 else ""
        return f"{statistics.mean(values):.4g}{spread} ({min(values):.4g} to {max(values):.4g})"

    rows = [f"| {title} | {cell([r[name] for r in results])} |" for name, title in zip(names, titles, strict=True)]
    table = "\n".join(
        [
            f"## The {args.dataset} real-data floor over {len(args.seeds)} classifier seeds",
            "",
            f"The committed classifier's recipe (`{recipe['command']}`) retrained with seeds {args.seeds}, each",
            f"also holding out other images ({recipe['holdout_per_class']} per class, the floor's images), which it",
            f"then scores against the test split like a generator's samples at {native_image_size(args.dataset)} px.",
            "Mean ± standard deviation (min to max); seed 0 is the committed classifier.",
            "",
            "| number | mean ± sd (min to max) |",
            "| --- | ---: |",
            *rows,
        ]
    )
    print(table)
    write_section(f"floor_{args.dataset}", table)


if __name__ == "__main__":
    main()
