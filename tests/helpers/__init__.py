"""What the tests share: tiny data, the command line of a run on it, composed configs, untrained checkpoints.

Tests import these from here (``from tests.helpers import cli_args``); conftest.py holds only fixtures.
``tests.helpers.callbacks`` holds code that tests load into the processes they start.
"""

import hashlib
import io
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "src" / "condgan" / "configs"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]  # what a user reads

TINY_OVERRIDES = (
    "datamodule.image_size=28",  # the default experiment's 32 px would only resize the tiny data
    "datamodule.val_size=64",
    "datamodule.batch_size=32",
    "logger=csv",
    "trainer.accelerator=cpu",
    "trainer.log_every_n_steps=1",
)
UNTRAINED_FAMILIES = {  # name: training overrides; a narrow DCGAN keeps it fast, the layers are what matter
    "mlp": ("model=mnist_gan_model",),
    "dcgan": ("model=dcgan", "model.generator.base_channels=8", "model.discriminator.base_channels=8"),
}


def skip_without(present: bool, reason: str) -> None:
    """Skip a test whose optional system part (fonts, Chromium, podman, ...) is missing, with a one-line reason;
    under .ci/run, which installs every such part (CONDGAN_REQUIRE_SYSTEM_PARTS=1), fail instead."""
    if present:
        return
    if os.environ.get("CONDGAN_REQUIRE_SYSTEM_PARTS") == "1":
        pytest.fail(f"{reason}, but .ci/run should have installed it", pytrace=False)
    pytest.skip(reason)


def tiny_digits(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (n, 28, 28) images whose bright bar's row depends on the label, and uint8 labels (n,)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = torch.randint(0, 40, (n, 28, 28), generator=g)
    for i, label in enumerate(labels):
        images[i, 4 + 2 * label : 6 + 2 * label, 4:24] = 255
    return images.to(torch.uint8), labels.to(torch.uint8)


def decode_png(png: bytes | Path) -> torch.Tensor:
    """A PNG (its bytes or its file) as uint8 (C, H, W): C = 1 for grey, 3 for RGB."""
    with Image.open(io.BytesIO(png) if isinstance(png, bytes) else png) as image:
        pixels = np.array(image)
    return torch.from_numpy(pixels).view(*pixels.shape[:2], -1).permute(2, 0, 1)


def md5_of_files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def run_child(args: list[str], env: dict[str, str], timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Run ``args`` (``sys.executable`` is prepended when the first is a .py file) and assert it succeeded;
    the failure message holds the end of its output."""
    if str(args[0]).endswith(".py"):
        args = [sys.executable, *args]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, **kwargs)
    output = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited with {done.returncode}:\n{output}"
    return done


def cli_args(data_dir: Path, run_dir: Path, *overrides: str) -> list[str]:
    """The arguments of `run.py` for a run on the tiny data into ``run_dir``; flags (``--multirun``) go first,
    since argparse wants Hydra's overrides in one piece."""
    flags = [o for o in overrides if o.startswith("-")]
    overrides = tuple(o for o in overrides if not o.startswith("-"))
    paths = (f"paths.data_dir={data_dir}", f"hydra.run.dir={run_dir}")
    return [str(ROOT / "run.py"), *flags, *paths, *TINY_OVERRIDES, *overrides]


def compose_config(*overrides: str, output_dir: Path):
    """The composed training config, as ``condgan train`` would see it, writing into ``output_dir``."""
    from condgan.cli import compose_config as compose_training_config

    return compose_training_config(f"paths.output_dir={output_dir}", *overrides)


def write_untrained_checkpoint(folder: Path, *overrides: str) -> Path:
    """``folder``/checkpoints/last.ckpt shaped like run.py's (run config + generator weights), untrained."""
    import hydra
    from omegaconf import OmegaConf

    from condgan.checkpoints.io import atomic_save

    cfg = compose_config("trainer.accelerator=cpu", "datamodule.image_size=28", *overrides, output_dir=folder)
    config = OmegaConf.to_container(cfg, resolve=True)  # as run.py saves it
    torch.manual_seed(0)
    generator = hydra.utils.instantiate(cfg.model.generator)
    path = folder / "checkpoints" / "last.ckpt"
    state_dict = {f"generator.{name}": tensor for name, tensor in generator.state_dict().items()}
    atomic_save({"hyper_parameters": config, "state_dict": state_dict}, path)
    return path


def kill_when(args: list[str], env: dict, ready: Callable[[], bool], settle_s: float = 0.0, timeout: float = 120):
    """Start ``python <args>``, wait until ``ready()`` (or it exits, or ``timeout``), let it run ``settle_s``
    more, then kill -9 it: the hard stop of a crashed or preempted run. Fails with its stderr if it exited first."""
    child = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + timeout
        while not ready() and time.monotonic() < deadline:
            assert child.poll() is None, child.stderr.read().decode()[-3000:]
            time.sleep(0.2)
        assert ready(), f"not ready after {timeout} s"
        time.sleep(settle_s)
    finally:
        child.kill()
        child.wait()
