"""Discriminator-guided sampling: does a trained D, used to pick among several draws of G, lower FID?

For every image asked for, G draws `candidates` images of its label; D scores them (its logit, which for the
non-saturating loss estimates log p_data(x|y) / p_G(x|y)), and one is kept:
- `resample`: drawn with probability ∝ exp(score / temperature), importance resampling (Azadi et al. 2019's
  density-ratio idea without the rejection loop): with a perfect D and many candidates, samples from p_data;
- `best`: the highest score (precision up, recall down).
Each setting is measured like `condgan eval` (1000 images per class, the dataset's classifier).

    python -m bench.guided_sampling --ckpt logs/bench/quality/mnist_dcgan-0/checkpoints/last.ckpt \
        [--candidates 1 4 16] [--selection resample best] [--temperature 1]

Writes its section of docs/benchmarks.md.
"""

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from bench._report import load_note, write_section
from condgan.checkpoints.allow_list import build_network
from condgan.checkpoints.io import load_generator, read_checkpoint, training_state_dict
from condgan.inference.sampling import sample_per_class
from condgan.metrics.measure import measure_generator

ROOT = Path(__file__).resolve().parents[1]


def load_discriminator(path: Path) -> nn.Module:
    """The run's D, built through the checkpoint allow-list as load_generator builds G."""
    ckpt = read_checkpoint(path)
    prefix = "discriminator."
    weights = {k[len(prefix) :]: v for k, v in training_state_dict(ckpt, path).items() if k.startswith(prefix)}
    return build_network(ckpt["hyper_parameters"], "model.discriminator", weights, path).eval()


class GuidedGenerator(nn.Module):
    """G(z, y) → one of `candidates` draws of label y, picked by D. The first candidate is z itself, the others
    come from this object's own seeded noise, so a run is reproducible for a given batch order."""

    def __init__(self, generator, discriminator, candidates: int, selection: str, temperature: float, seed: int = 1):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.candidates, self.selection, self.temperature = candidates, selection, temperature
        self.latent_dim, self.num_classes = generator.latent_dim, generator.num_classes
        self.rng = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.candidates == 1:
            return self.generator(z, labels)
        extra = torch.randn(self.candidates - 1, *z.shape, generator=self.rng).to(z)  # (M-1, B, Z)
        noise = torch.cat([z[None], extra])  # (M, B, Z)
        images = self.generator(noise.flatten(0, 1), labels.repeat(self.candidates))  # (M·B, C, H, W)
        out = self.discriminator(images, labels.repeat(self.candidates))
        scores = (out[0] if isinstance(out, tuple) else out).view(self.candidates, len(z))  # (M, B)
        if self.selection == "best":
            pick = scores.argmax(0)
        else:
            pick = torch.multinomial((scores / self.temperature).softmax(0).T, 1, generator=self.rng)[:, 0]
        return images.view(self.candidates, len(z), *images.shape[1:])[pick, torch.arange(len(z))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", type=Path, required=True)
    parser.add_argument("--data-dir", default=str(ROOT / "data"))
    parser.add_argument("--candidates", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--selection", nargs="+", default=["resample", "best"], choices=["resample", "best"])
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--n-per-class", type=int, default=1000)
    parser.add_argument("--section", default="guided_sampling")
    args = parser.parse_args()

    generator, config = load_generator(args.ckpt)
    discriminator = load_discriminator(args.ckpt)
    dataset, image_size = config["datamodule"]["dataset"], config["datamodule"]["image_size"]
    settings = [(1, "resample")] + [(m, s) for s in args.selection for m in args.candidates if m > 1]
    rows = []
    for candidates, selection in settings:
        guided = GuidedGenerator(generator, discriminator, candidates, selection, args.temperature)
        start = time.perf_counter()
        sample_per_class(guided, 100)  # the cost per image, timed apart from the metrics: 1000 images
        ms_per_image = (time.perf_counter() - start) * 1000 / (100 * generator.num_classes)
        guided = GuidedGenerator(generator, discriminator, candidates, selection, args.temperature)  # fresh RNG
        m = measure_generator(guided, dataset, args.data_dir, image_size, args.n_per_class)["model"]
        name = "G alone" if candidates == 1 else f"{selection} of {candidates}"
        rows.append(
            f"| {name} | {m['fid']:.2f} | {m['intra_fid']:.2f} | {m['label_acc']:.2%} | {m['precision']:.3f} | "
            f"{m['recall']:.3f} | {ms_per_image:.2f} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(
        [
            "## Discriminator-guided sampling",
            "",
            f"`{args.ckpt}`: G's EMA draws `candidates` images per image asked for, D scores them, one is kept "
            f"(`resample`: ∝ exp(score / {args.temperature:g}); `best`: the top score). {args.n_per_class} images "
            f"per class, measured as `condgan eval` does; ms per image on one process. {load_note()}.",
            "",
            "| sampling | FID | intra-FID | label acc | precision | recall | ms per image |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            *rows,
        ]
    )
    print(table)
    write_section(args.section, table)


if __name__ == "__main__":
    main()
