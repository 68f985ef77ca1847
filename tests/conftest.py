"""Shared fixtures: a tiny MNIST written by the tests, and a way to run `condgan` commands in this process."""

import os
import sys
from pathlib import Path

import pytest

from condgan import cli
from condgan.data import sources
from condgan.data.emoji_npm import TARBALLS_ENV
from condgan.data.idx import encode_idx
from tests.helpers import (
    ROOT,
    UNTRAINED_FAMILIES,
    cli_args,
    md5_of_files,
    skip_without,
    tiny_digits,
    write_untrained_checkpoint,
)


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> Path:
    """data_dir with MNIST/raw holding 320 training and 80 test images in the real idx format."""
    data_dir = tmp_path_factory.mktemp("data")
    raw = data_dir / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, n, seed in (("train", 320, 0), ("t10k", 80, 1)):
        images, labels = tiny_digits(n, seed)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(encode_idx(images))
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(encode_idx(labels))
    return data_dir


@pytest.fixture
def tiny_mnist(tiny_data_dir, monkeypatch) -> Path:
    """The tiny data set, with its MD5s standing in for the official ones."""
    monkeypatch.setitem(sources.MD5, "mnist", md5_of_files(tiny_data_dir / "MNIST" / "raw"))
    return tiny_data_dir


@pytest.fixture(scope="session")
def tiny_env(tiny_data_dir, tmp_path_factory) -> dict[str, str]:
    """Environment for child processes (run.py and its DDP children, torchrun workers, eval.py, condgan-serve)
    that accept the tiny data, as a new user's machine would run them: no W&B API key (so W&B runs offline).

    A sitecustomize.py on PYTHONPATH runs at every interpreter start, before the script, and patches the MD5s.
    """
    site = tmp_path_factory.mktemp("site")
    md5 = md5_of_files(tiny_data_dir / "MNIST" / "raw")
    (site / "sitecustomize.py").write_text(f"from condgan.data import sources\nsources.MD5['mnist'] = {md5!r}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}  # no key, no service of this process
    env["HOME"] = str(tmp_path_factory.mktemp("home"))  # no ~/.netrc from `wandb login`
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT), os.environ.get("PYTHONPATH", "")])  # ROOT: tests.helpers
    if (ROOT / "data" / "npm").is_dir():  # the emoji tarballs .ci/run fetched once: no command fetches them again
        env.setdefault(TARBALLS_ENV, str(ROOT / "data" / "npm"))
    return env


@pytest.fixture
def child_env(tiny_env, tiny_mnist) -> dict[str, str]:
    return tiny_env


@pytest.fixture
def run_cli(tiny_mnist, monkeypatch, tmp_path):
    """Run ``condgan train <overrides>`` in this process on the tiny data; returns the run folder."""

    def _run(*overrides: str, run_dir: Path | None = None) -> Path:
        run_dir = run_dir or tmp_path / "run"
        monkeypatch.setattr(sys, "argv", list(sys.argv))  # the command sets sys.argv for Hydra
        monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # raise instead of exiting, so pytest shows the failure
        cli.main(["train", *cli_args(tiny_mnist, run_dir, *overrides)[1:]])
        return run_dir

    return _run


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint with the default model's untrained 28 px MNIST generator.

    Enough for commands that only rebuild the generator (generate.py, eval.py), without paying for training.
    """
    return write_untrained_checkpoint(tmp_path_factory.mktemp("untrained"))


@pytest.fixture(scope="session", params=sorted(UNTRAINED_FAMILIES))
def untrained_family_checkpoint(request, tmp_path_factory) -> Path:
    """Like ``untrained_checkpoint``, once per generator family in UNTRAINED_FAMILIES."""
    return write_untrained_checkpoint(tmp_path_factory.mktemp(request.param), *UNTRAINED_FAMILIES[request.param])


@pytest.fixture
def run_script(monkeypatch):
    """Run a ``condgan`` command in this process: ``run_script("generate", "ckpt_path=...", "out=...")``."""

    def _run(command: str, *overrides: str) -> None:
        monkeypatch.setattr(sys, "argv", list(sys.argv))  # the command sets sys.argv for Hydra
        monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # raise instead of exiting, so pytest shows the failure
        cli.main([command, *overrides])

    return _run


@pytest.fixture(scope="session")
def untrained_onnx(untrained_checkpoint, tmp_path_factory) -> Path:
    """``untrained_checkpoint``'s generator exported to ONNX: generator.onnx and generator.onnx.json."""
    from condgan.inference.export import export_generator

    return export_generator(untrained_checkpoint, "onnx", tmp_path_factory.mktemp("onnx") / "generator.onnx")


@pytest.fixture(scope="session")
def styled_onnx(tmp_path_factory) -> Path:
    """An untrained narrow DCGAN of emoji_styles (resize upsampling, 28 px) exported to ONNX."""
    from condgan.inference.export import export_generator

    folder = tmp_path_factory.mktemp("styled")
    overrides = ("datamodule=emoji_styles", "model=dcgan", "model.generator.base_channels=8")
    checkpoint = write_untrained_checkpoint(folder, *overrides, "model.generator.upsample=resize")
    return export_generator(checkpoint, "onnx", folder / "styled.onnx")


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture
def chromium(tmp_path, monkeypatch):
    """A headless Chromium (selenium WebDriver) that can reach loopback addresses only: pages must work offline."""
    present = CHROMIUM.exists() and CHROMEDRIVER.exists()
    skip_without(present, f"needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium: pip install -e '.[dev]'")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,1000",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # any other host fails: no CDN can help
    ):
        options.add_argument(flag)
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
