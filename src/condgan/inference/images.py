"""Generator outputs as pictures, with numpy and Pillow only: uint8 pixels, grids, PNG and GIF bytes.

Every picture condgan writes is encoded here: the training run's sample grids, the report's GIF and strip,
condgan generate's files and the web service's responses (which run without torch).
The grid has torchvision ``make_grid``'s layout (RGB, 2 px black padding, a single image left as it is), so
the server's grids look like the training run's sample grids.
"""

import io
import math

import numpy as np
from PIL import Image

GIF_FRAME_MS = 100


def to_uint8(images: np.ndarray) -> np.ndarray:
    """(B, C, H, W) floats in [-1, 1] → uint8 in [0, 255] (rounded half to even, as torch rounds)."""
    return np.rint((np.clip(images, -1, 1) + 1) * 127.5).astype(np.uint8)


def near_square_columns(n: int) -> int:
    return math.ceil(math.sqrt(n))


def image_grid(images: np.ndarray, n_cols: int, padding: int = 2) -> np.ndarray:
    """uint8 images (N, C, H, W) → one RGB uint8 image (3, H', W'), ``n_cols`` a row, ``padding`` px between."""
    if images.shape[1] == 1:
        images = images.repeat(3, axis=1)
    if len(images) == 1:
        return images[0]
    n, channels, height, width = images.shape
    n_cols = min(n_cols, n)
    n_rows = math.ceil(n / n_cols)
    cell_h, cell_w = height + padding, width + padding
    grid = np.zeros((channels, n_rows * cell_h + padding, n_cols * cell_w + padding), np.uint8)
    for k, image in enumerate(images):
        row, col = divmod(k, n_cols)
        top, left = padding + row * cell_h, padding + col * cell_w
        grid[:, top : top + height, left : left + width] = image
    return grid


def pil_image(image: np.ndarray) -> Image.Image:
    """One uint8 image (C, H, W), C = 1 (grey) or 3 (RGB), as a Pillow image."""
    return Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))


def png_bytes(image: np.ndarray) -> bytes:
    """One uint8 image (C, H, W) as PNG bytes."""
    buffer = io.BytesIO()
    pil_image(image).save(buffer, format="PNG")
    return buffer.getvalue()


def gif_bytes(frames: list[np.ndarray], frame_ms: int = GIF_FRAME_MS) -> bytes:
    """uint8 images (C, H, W) as a looping GIF, ``frame_ms`` a frame (Pillow merges identical neighbours)."""
    first, *rest = (pil_image(frame) for frame in frames)
    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=rest, duration=frame_ms, loop=0)
    return buffer.getvalue()


def row_frames(images: np.ndarray, n_cols: int) -> list[np.ndarray]:
    """One grid frame per row of ``n_cols`` images: the frames of a walk whose rows are its steps."""
    return [image_grid(images[start : start + n_cols], n_cols) for start in range(0, len(images), n_cols)]
