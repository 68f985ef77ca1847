"""Shared fixtures: a tiny MNIST written by the tests, and a way to run `run.py` in this process."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from condgan.data import sources
from condgan.data.idx import write_idx

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / "configs"


def tiny_digits(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (n, 28, 28) images whose bright bar's row depends on the label, and uint8 labels (n,)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    images = torch.randint(0, 40, (n, 28, 28), generator=g)
    for i, label in enumerate(labels):
        images[i, 4 + 2 * label : 6 + 2 * label, 4:24] = 255
    return images.to(torch.uint8), labels.to(torch.uint8)


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> Path:
    """data_dir with MNIST/raw holding 320 training and 80 test images in the real idx format."""
    data_dir = tmp_path_factory.mktemp("data")
    raw = data_dir / "MNIST" / "raw"
    for prefix, n, seed in (("train", 320, 0), ("t10k", 80, 1)):
        images, labels = tiny_digits(n, seed)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return data_dir


def md5_of_files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in folder.iterdir()}


@pytest.fixture
def tiny_mnist(tiny_data_dir, monkeypatch) -> Path:
    """The tiny data set, with its MD5s standing in for the official ones."""
    monkeypatch.setitem(sources.MD5, "mnist", md5_of_files(tiny_data_dir / "MNIST" / "raw"))
    return tiny_data_dir


TINY_OVERRIDES = (
    "datamodule.image_size=28",  # the default experiment's 32 px would only resize the tiny data
    "datamodule.val_size=64",
    "datamodule.batch_size=32",
    "logger=csv",
    "trainer.accelerator=cpu",
    "trainer.log_every_n_steps=1",
)


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
    return env


@pytest.fixture
def child_env(tiny_env, tiny_mnist) -> dict[str, str]:
    return tiny_env


def run_child(args: list[str], env: dict[str, str], timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    """Run ``args`` (``sys.executable`` is prepended when the first is a .py file) and assert it succeeded;
    the failure message holds the end of its output."""
    if str(args[0]).endswith(".py"):
        args = [sys.executable, *args]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited with {done.returncode}:\n{(done.stdout + done.stderr)[-4000:]}"
    return done


def cli_args(data_dir: Path, run_dir: Path, *overrides: str) -> list[str]:
    """The arguments of `run.py` for a run on the tiny data into ``run_dir``; flags (``--multirun``) go first,
    since argparse wants Hydra's overrides in one piece."""
    flags = [o for o in overrides if o.startswith("-")]
    overrides = [o for o in overrides if not o.startswith("-")]
    return [str(ROOT / "run.py"), *flags, f"paths.data_dir={data_dir}", f"hydra.run.dir={run_dir}", *TINY_OVERRIDES, *overrides]


@pytest.fixture
def run_cli(tiny_mnist, monkeypatch, tmp_path):
    """Run ``python run.py <overrides>`` in this process on the tiny data; returns the run folder."""
    sys.path.insert(0, str(ROOT))
    import run  # noqa: E402  (the repository's run.py)

    def _run(*overrides: str, run_dir: Path | None = None) -> Path:
        run_dir = run_dir or tmp_path / "run"
        monkeypatch.setattr(sys, "argv", cli_args(tiny_mnist, run_dir, *overrides))
        monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # raise instead of exiting, so pytest shows the failure
        run.main()
        return run_dir

    yield _run
    sys.path.remove(str(ROOT))


def compose_config(*overrides: str, output_dir: Path):
    """The composed training config, as run.py would see it, writing into ``output_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("train.yaml", overrides=[f"paths.output_dir={output_dir}", *overrides])


def write_untrained_checkpoint(folder: Path, *overrides: str) -> Path:
    """``folder``/checkpoints/last.ckpt shaped like run.py's (run config + generator weights), untrained."""
    import hydra
    from omegaconf import OmegaConf

    from condgan.checkpoint import atomic_save

    cfg = compose_config("trainer.accelerator=cpu", "datamodule.image_size=28", *overrides, output_dir=folder)
    config = OmegaConf.to_container(cfg, resolve=True)  # as run.py saves it
    torch.manual_seed(0)
    generator = hydra.utils.instantiate(cfg.model.generator)
    path = folder / "checkpoints" / "last.ckpt"
    state_dict = {f"generator.{name}": tensor for name, tensor in generator.state_dict().items()}
    atomic_save({"hyper_parameters": config, "state_dict": state_dict}, path)
    return path


@pytest.fixture(scope="session")
def untrained_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint with the default model's untrained 28 px MNIST generator.

    Enough for commands that only rebuild the generator (generate.py, eval.py), without paying for training.
    """
    return write_untrained_checkpoint(tmp_path_factory.mktemp("untrained"))


UNTRAINED_FAMILIES = {  # name: training overrides; a narrow DCGAN keeps it fast, the layers are what matter
    "mlp": ("model=mnist_gan_model",),
    "dcgan": ("model=dcgan", "model.generator.base_channels=8", "model.discriminator.base_channels=8"),
}


@pytest.fixture(scope="session", params=sorted(UNTRAINED_FAMILIES))
def untrained_family_checkpoint(request, tmp_path_factory) -> Path:
    """Like ``untrained_checkpoint``, once per generator family in UNTRAINED_FAMILIES."""
    return write_untrained_checkpoint(tmp_path_factory.mktemp(request.param), *UNTRAINED_FAMILIES[request.param])


@pytest.fixture
def run_script(monkeypatch):
    """Run a root command in this process: ``run_script("generate", "ckpt_path=...", "out=...")``."""
    import importlib

    sys.path.insert(0, str(ROOT))

    def _run(script: str, *overrides: str) -> None:
        module = importlib.import_module(script)  # the repository's eval.py / generate.py
        monkeypatch.setattr(sys, "argv", [f"{script}.py", *overrides])
        monkeypatch.setenv("HYDRA_FULL_ERROR", "1")  # raise instead of exiting, so pytest shows the failure
        module.main()

    yield _run
    sys.path.remove(str(ROOT))


@pytest.fixture(scope="session")
def untrained_onnx(untrained_checkpoint, tmp_path_factory) -> Path:
    """``untrained_checkpoint``'s generator exported to ONNX: generator.onnx and generator.onnx.json."""
    from condgan.export import export_generator

    return export_generator(untrained_checkpoint, "onnx", tmp_path_factory.mktemp("onnx") / "generator.onnx")


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture
def chromium(tmp_path, monkeypatch):
    """A headless Chromium (selenium WebDriver) that can reach loopback addresses only: pages must work offline."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(f"needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install chromium chromium-driver (.ci/run does)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium: pip install -e '.[dev]'")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,1000",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # any other host fails: no CDN can help
    ):  # fmt: skip
        options.add_argument(flag)
    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers online
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
