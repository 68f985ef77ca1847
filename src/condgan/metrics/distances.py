"""Distances between two sets of feature vectors (N, D): FID, KID and the k-NN manifolds of precision/recall.

They take features, not images, so each image goes through the classifier once and every metric (and
every class of intra-class FID) reuses the same (N, D) tensors. FID is computed in float64 (D × D
matrices: cheap); KID and the k-NN distances in float32, as they multiply N × N matrices.
"""

import warnings

import torch
from torch import Tensor, nn
from torchmetrics.image.kid import KernelInceptionDistance

NEIGHBOURS = 3  # k of the k-NN manifolds, as in Kynkäänniemi et al. 2019
CHUNK = 2048  # rows of a pairwise-distance block: 2048 × 10k float32 = 80 MB


def frechet_distance(a: Tensor, b: Tensor) -> float:
    """FID between Gaussians fitted to ``a`` (N, D) and ``b`` (M, D).

    ‖μa − μb‖² + tr(Σa + Σb − 2 (Σa^½ Σb Σa^½)^½): the symmetric form has real, non-negative eigenvalues
    by construction (``eigvalsh``), where torchmetrics takes complex ``eigvals(Σa Σb)``; tests compare the two.
    """
    mean_a, cov_a = _mean_and_covariance(a)
    mean_b, cov_b = _mean_and_covariance(b)
    root_a = _psd_sqrt(cov_a)
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def kernel_distance(a: Tensor, b: Tensor, seed: int, subsets: int = 100, subset_size: int = 1000) -> float:
    """KID: the unbiased MMD² of the cubic polynomial kernel, averaged over random equal-size subsets.

    torchmetrics' ``KernelInceptionDistance`` on features (its feature extractor is the identity); it draws the
    subsets from the global RNG, seeded here inside ``fork_rng`` so the value is reproducible and the caller's
    RNG untouched. Unbiased, hence ~0 and possibly negative for equal distributions. ``subset_size`` shrinks to
    the smaller set when needed.
    """
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError(f"KID needs at least 2 vectors per set, got {len(a)} and {len(b)}")
    with warnings.catch_warnings():  # about keeping every feature in memory: these are the features
        warnings.filterwarnings("ignore", "Metric `Kernel Inception Distance` will save", UserWarning)
        # sync_on_compute=False: under DDP only rank 0 measures; a sync would wait forever for the other ranks
        kid = KernelInceptionDistance(feature=nn.Identity(), subsets=subsets, subset_size=size, sync_on_compute=False)
    kid.update(a, real=True)
    kid.update(b, real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, _ = kid.compute()
    return float(mean)


def knn_radii(x: Tensor, k: int = NEIGHBOURS) -> Tensor:
    """(N,) distance from each point of ``x`` (N, D) to its k-th nearest other point: the radii of its manifold."""
    if len(x) <= k:
        raise ValueError(f"k-NN radii with k={k} need more than {k} points, got {len(x)}")
    # k + 1 smallest: every point is its own nearest neighbour. topk, as kthvalue is ~20x slower on CPU.
    return torch.cat([torch.cdist(rows, x).topk(k + 1, dim=1, largest=False).values[:, k] for rows in x.split(CHUNK)])


def manifold_coverage(points: Tensor, centres: Tensor, radii: Tensor) -> float:
    """Share of ``points`` (M, D) within ``radii[j]`` of some ``centres[j]`` (N, D): the improved precision
    (points: generated, centres: real) or recall (the other way round) of Kynkäänniemi et al. 2019."""
    inside = torch.cat([(torch.cdist(rows, centres) <= radii).any(dim=1) for rows in points.split(CHUNK)])
    return float(inside.double().mean())


def _mean_and_covariance(x: Tensor) -> tuple[Tensor, Tensor]:
    if len(x) < 2:
        raise ValueError(f"a covariance needs at least 2 feature vectors, got {len(x)}")
    x = x.double()
    return x.mean(dim=0), torch.cov(x.T)  # (D,), (D, D) with the unbiased N − 1 denominator, as torchmetrics


def _psd_sqrt(matrix: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix; tiny negative eigenvalues (round-off) → 0."""
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
    return (eigenvectors * eigenvalues.clamp(min=0).sqrt()) @ eigenvectors.T
