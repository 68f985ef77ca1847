"""Latent noise from a seed, in numpy: the inputs of every sample, walk and class grid condgan draws.

Training callbacks, condgan generate, the PyTorch server and the torch-free ONNX server all draw their noise
here, so a seed gives the same images from a checkpoint and from its ONNX export. The normals come from
PCG64's raw 64-bit output through Box-Muller, written out below: numpy fixes PCG64's bit stream and its
seeding, but not the algorithm behind ``Generator.standard_normal``, which may change between versions.
"""

import numpy as np

from condgan.conditions import condition_index

MIN_TRUNCATION = 0.01  # below it, redrawing until every value fits takes thousands of rounds


def standard_normal(count: int, rng: np.random.PCG64) -> np.ndarray:
    """``count`` float32 standard normals from ``rng``'s next raw outputs (Box-Muller: 2 uniforms → 2 normals)."""
    bits = rng.random_raw(2 * ((count + 1) // 2))
    uniform = ((bits >> np.uint64(11)) + 1) * 2.0**-53  # 53-bit floats in (0, 1]: the log never sees 0
    radius, angle = np.sqrt(-2 * np.log(uniform[0::2])), 2 * np.pi * uniform[1::2]
    pairs = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)  # (count/2, 2)
    return pairs.reshape(-1)[:count].astype(np.float32)


def check_truncation(truncation: float) -> None:
    if not truncation >= MIN_TRUNCATION:  # `not >=` also refuses NaN
        raise ValueError(
            f"truncation must be at least {MIN_TRUNCATION} (typical: 0.5 to 2), got truncation={truncation}; "
            "pass truncation=null for untruncated noise"
        )


def latent_noise(n: int, latent_dim: int, seed: int = 0, truncation: float | None = None) -> np.ndarray:
    """float32 (n, latent_dim) standard normal noise, a function of its arguments only (no global RNG).

    ``truncation=t``: every value with |z| > t is drawn again until all lie within [-t, t] (the truncation
    trick: cleaner, less varied images); the values already inside stay what they were.
    """
    rng = np.random.PCG64(seed)
    noise = standard_normal(n * latent_dim, rng).reshape(n, latent_dim)
    if truncation is None:
        return noise
    check_truncation(truncation)
    outside = np.abs(noise) > truncation
    while outside.any():
        noise[outside] = standard_normal(int(outside.sum()), rng)
        outside = np.abs(noise) > truncation
    return noise


def interpolate_latents(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """float32 (steps, Z) points from ``start`` to ``end`` (both (Z,), both included), spherically interpolated.

    Spherical, not linear: between two Gaussian latents a straight line passes through points of smaller
    norm (about 0.7× at the midpoint) than the generator saw in training, which washes out the middle images.
    """
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps (its two ends), got steps={steps}")
    start, end = np.asarray(start, np.float32), np.asarray(end, np.float32)
    t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
    cos_angle = np.clip(np.dot(start / np.linalg.norm(start), end / np.linalg.norm(end)), -1, 1)
    angle = np.arccos(cos_angle)
    if np.sin(angle) < 1e-6:  # (anti)parallel ends: the spherical formula would divide by ~0
        return start + t * (end - start)
    return ((np.sin((1 - t) * angle) * start + np.sin(t * angle) * end) / np.sin(angle)).astype(np.float32)


def walk_inputs(
    latent_dim: int, labels: np.ndarray, seed: int, seed_to: int, steps: int, truncation: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Noise (steps·K, Z) and labels (steps·K,) of a latent walk from ``seed`` to ``seed_to``, K = len(labels).

    Step-major: row s holds every label at the s-th point of the walk. Row 0 is each label with the noise of
    ``latent_noise(1, Z, seed, truncation)``, the last row the same with ``seed_to``. Truncation bounds the
    two ends; points between them can exceed it slightly.
    """
    if seed_to == seed:
        raise ValueError(f"seed_to equals seed ({seed}): a walk needs two different seeds, e.g. seed_to={seed + 1}")
    start, end = (latent_noise(1, latent_dim, s, truncation)[0] for s in (seed, seed_to))
    path = interpolate_latents(start, end, steps)  # (steps, Z)
    return path.repeat(len(labels), axis=0), np.tile(labels, steps)


def check_labels(labels, num_classes: int) -> None:
    """Refuse an empty request or a label outside 0..num_classes-1 (numpy arrays and torch tensors alike)."""
    if len(labels) == 0:
        raise ValueError("nothing to sample: ask for at least one image")
    if labels.min() < 0 or labels.max() >= num_classes:
        outside = sorted({int(y) for y in labels if not 0 <= y < num_classes})
        raise ValueError(f"label {outside[0]} is outside the model's classes: pick a label in 0..{num_classes - 1}")


def class_grid_inputs(noise: np.ndarray, labels: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Noise (K·n, Z) and labels (K·n,) of a class grid, n = len(noise): ``labels`` (K,), or every class of K
    when an int, class-major; the j-th image of every class uses noise[j]."""
    labels = np.arange(labels) if isinstance(labels, int) else np.asarray(labels)
    return np.tile(noise, (len(labels), 1)), labels.repeat(len(noise))


def labels_per_row(labels: np.ndarray, conditions: dict[str, list[str]] | None) -> int:
    """How many of a grid's classes (``labels``, class-major) share one row: those with the same first condition
    (emoji_styles: a group's styles side by side), when every row then holds as many; else one class a row."""
    if not conditions:
        return 1
    first = condition_index(labels, conditions, next(iter(conditions)))
    starts = np.flatnonzero(np.r_[True, first[1:] != first[:-1]])  # where each run of one first value begins
    sizes = np.diff(np.r_[starts, len(labels)])
    return int(sizes[0]) if len(set(sizes.tolist())) == 1 and len(starts) == len(set(first.tolist())) else 1
